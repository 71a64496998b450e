// src/lab/env.ts: the one place that builds the environment of the lab's processes.
import { describe, expect, it } from 'vitest';
import { containerEnv, LAB_ENV, nodeEnv, nodeServerEnv, READY_FILE_ENV } from '../../../src/lab/env.js';

describe('lab process environment', () => {
  it('a container: the lab, the pod identity, and the ready file only when given', () => {
    const pod = { name: 'busybox', ip: '10.244.1.3', node: 'node1' };
    expect(containerEnv('demo', pod, 'main')).toEqual({
      [LAB_ENV]: 'demo',
      POD_NAME: 'busybox',
      POD_IP: '10.244.1.3',
      NODE_NAME: 'node1',
      CONTAINER_NAME: 'main',
      HOSTNAME: 'busybox',
    });
    expect(containerEnv('demo', pod, 'main', '/run/x.ready')[READY_FILE_ENV]).toBe('/run/x.ready');
  });

  it('a node process, and the demo server that answers as the node', () => {
    expect(nodeEnv('demo', { name: 'node1' })).toEqual({ [LAB_ENV]: 'demo', NODE_NAME: 'node1', HOSTNAME: 'node1' });
    expect(nodeServerEnv('demo', { name: 'node1', publicIp: '192.168.1.2' }, '/r')).toMatchObject({
      POD_NAME: 'node1',
      POD_IP: '192.168.1.2',
      [READY_FILE_ENV]: '/r',
      [LAB_ENV]: 'demo',
    });
  });
});
