// CniRuntime's in-process plugins (the kubelet runs the flannel plugin this way): a plugin type listed in
// `inProcess` is called as a function with the CNI_* environment, the request config and the runtime's prefix
// instead of being looked up on CNI_PATH and spawned; its output means what an executable's would (result
// object, the spec's error JSON → CniError with its code). The in-process functions here are test doubles;
// the real flannel plugin through the kubelet is covered by test/integration/cni/live-cni.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CniRuntime, type InProcessPlugin, type NetworkList } from '../../../src/cni/runtime.js';
import { CniError } from '../../../src/util/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-cni-inproc-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const list: NetworkList = { cniVersion: '1.0.0', name: 'cbr0', plugins: [{ type: 'fake', answer: 42 }] };
const att = { containerId: 'c1', netns: '/run/netns/x', ifName: 'eth0', args: 'K8S_POD_NAME=web' };

describe('CniRuntime in-process plugins', () => {
  it('calls the function instead of an executable, with the CNI_* environment, config and prefix', async () => {
    const calls: { env: Record<string, string>; stdin: string; prefix?: readonly string[] }[] = [];
    const fake: InProcessPlugin = (env, stdin, o) => {
      calls.push({ env, stdin, prefix: o.prefix });
      const result = { cniVersion: '1.0.0', ips: [{ address: '10.244.1.5/24' }] };
      return Promise.resolve({
        code: 0,
        stdout: env['CNI_COMMAND'] === 'ADD' ? JSON.stringify(result) : '',
        stderr: '',
      });
    };
    const rt = new CniRuntime({
      binDirs: [path.join(tmp, 'no-such-dir')], // nothing on the path: an executable lookup would fail
      cacheDir: path.join(tmp, 'cache'),
      prefix: ['ip', 'netns', 'exec', 'flt-node1'],
      inProcess: { fake },
    });
    const result = await rt.add(list, att);
    expect(result).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.244.1.5/24' }] });
    expect(calls[0].env).toMatchObject({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/run/netns/x',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'K8S_POD_NAME=web',
    });
    expect(JSON.parse(calls[0].stdin)).toEqual({ type: 'fake', answer: 42, cniVersion: '1.0.0', name: 'cbr0' });
    expect(calls[0].prefix).toEqual(['ip', 'netns', 'exec', 'flt-node1']);
    await rt.del(list, att);
    expect(calls[1].env['CNI_COMMAND']).toBe('DEL');
    expect((JSON.parse(calls[1].stdin) as Record<string, unknown>)['prevResult']).toEqual(result);
  });

  it("turns the plugin's error JSON into a CniError with its code", async () => {
    const failing: InProcessPlugin = () =>
      Promise.resolve({
        code: 1,
        stdout: JSON.stringify({ cniVersion: '1.0.0', code: 11, msg: 'subnet.env not there yet' }),
        stderr: 'flannel: subnet.env not there yet\n',
      });
    const logged: string[] = [];
    const rt = new CniRuntime({
      binDirs: [],
      cacheDir: path.join(tmp, 'cache2'),
      inProcess: { fake: failing },
      onStderr: (t) => logged.push(t),
    });
    const err = await rt.add(list, att).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).cniCode).toBe(11);
    expect((err as CniError).message).toContain('subnet.env not there yet');
    expect(logged.join('')).toContain('flannel: subnet.env not there yet');
  });

  it('a type not listed is still looked up on CNI_PATH', async () => {
    const rt = new CniRuntime({ binDirs: [path.join(tmp, 'empty')], cacheDir: path.join(tmp, 'c3'), inProcess: {} });
    const err = await rt.add(list, att).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).message).toContain('failed to find plugin "fake"');
  });
});
