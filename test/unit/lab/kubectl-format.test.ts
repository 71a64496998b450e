// The lab CLI's kubectl printing: Go tabwriter layout (get: minwidth 6, padding 3; describe: blocks of
// consecutive tab-separated lines), server Tables (-o wide, -A), describe pod's layout, resource names,
// the exec exit code from the error channel, apply's "unchanged" test, topology → API objects.
import { describe, expect, it } from 'vitest';
import { toTable } from '../../../src/k8s/tables.js';
import type { Pod } from '../../../src/k8s/types.js';
import { exitCodeOf, execPath } from '../../../src/lab/exec-client.js';
import { contains } from '../../../src/lab/kubectl-apply.js';
import { describePodLines, rfc1123 } from '../../../src/lab/kubectl-describe.js';
import { formatServerTable, goTabwriter, tabwrite } from '../../../src/lab/kubectl-format.js';
import { collectionPath, nameOf, objectPath, resolveResource } from '../../../src/lab/kube-resources.js';
import { topologyObjects } from '../../../src/lab/live-objects.js';
import { parseTopology } from '../../../src/lab/topology.js';

const NOW = Date.parse('2026-12-01T10:00:00Z');

function pod(name: string, ip: string, node: string, ageS: number): Pod {
  const t = new Date(NOW - ageS * 1000).toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', creationTimestamp: t, uid: name },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'nginx' }] },
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: '192.168.1.2',
      startTime: t,
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        {
          name: 'c',
          image: 'nginx',
          imageID: '',
          ready: true,
          restartCount: 0,
          state: { running: { startedAt: t } },
          lastState: {},
        },
      ],
    },
  };
}

describe('tabwriter layout', () => {
  it('pads each column to its widest cell plus 3, at least 6, the last column unpadded', () => {
    expect(
      tabwrite([
        ['NAME', 'IP'],
        ['a', '10.0.0.1'],
      ]),
    ).toEqual(['NAME   IP', 'a      10.0.0.1']);
    expect(
      tabwrite([
        ['A', 'B', 'C'],
        ['x', 'y', 'z'],
      ]),
    ).toEqual(['A     B     C', 'x     y     z']);
  });
  it('aligns describe blocks separately when a line without a tab comes between', () => {
    const lines = goTabwriter([['Name:', 'x'], ['Namespace:', 'default'], ['IPs:'], ['  IP:', '10.244.1.2']], 0, 2);
    expect(lines).toEqual(['Name:       x', 'Namespace:  default', 'IPs:', '  IP:  10.244.1.2']);
  });
});

describe('server tables as kubectl get prints them', () => {
  const pods = [pod('busybox', '10.244.1.4', 'node1', 20), pod('nginx-9b644dcd5-974h6', '10.244.2.2', 'node2', 151)];
  it('prints the priority-0 columns, and all of them with -o wide', () => {
    const table = toTable(pods, 'Pod', NOW, 'Object');
    expect(formatServerTable(table, { now: NOW }).split('\n')).toEqual([
      'NAME                    READY   STATUS    RESTARTS   AGE',
      'busybox                 1/1     Running   0          20s',
      'nginx-9b644dcd5-974h6   1/1     Running   0          2m31s',
    ]);
    const wide = formatServerTable(table, { wide: true, now: NOW }).split('\n');
    expect(wide[0]).toBe(
      'NAME                    READY   STATUS    RESTARTS   AGE     IP           NODE    NOMINATED NODE   READINESS GATES',
    );
    expect(wide[2]).toBe(
      'nginx-9b644dcd5-974h6   1/1     Running   0          2m31s   10.244.2.2   node2   <none>           <none>',
    );
  });
  it('adds NAMESPACE first with -A and prints nothing for no rows', () => {
    const table = toTable(pods.slice(0, 1), 'Pod', NOW, 'Object');
    expect(formatServerTable(table, { withNamespace: true, now: NOW }).split('\n')[1]).toMatch(
      /^default {5}busybox {3}1\/1/,
    );
    expect(formatServerTable(toTable([], 'Pod', NOW, 'Object'))).toBe('');
  });
});

describe('describe pod', () => {
  it('has the IP: and IPs: lines kubectl prints, and kubectl-style times', () => {
    const p = pod('multi-container', '10.244.2.7', 'node2', 30);
    const text = goTabwriter(describePodLines(p, [], NOW), 0, 2).join('\n');
    expect(text).toMatch(/^IP:\s+10\.244\.2\.7$/m);
    expect(text).toMatch(/^IPs:\n {2}IP:\s+10\.244\.2\.7$/m);
    expect(text).toMatch(/^Node:\s+node2\/192\.168\.1\.2$/m);
    expect(text).toMatch(/^ {4}Restart Count:\s+0$/m);
    expect(text).toMatch(/^Events:\s+<none>$/m);
    expect(rfc1123('2026-12-01T10:00:00Z')).toBe('Tue, 01 Dec 2026 10:00:00 +0000');
  });
});

describe('resources', () => {
  it('finds resources by the names kubectl accepts and builds their paths', () => {
    for (const n of ['po', 'pod', 'pods', 'Pod']) expect(resolveResource(n).plural).toBe('pods');
    expect(resolveResource('deploy').kind).toBe('Deployment');
    expect(resolveResource('deployments.apps').kind).toBe('Deployment');
    expect(() => resolveResource('widgets')).toThrow(/doesn't have a resource type "widgets"/);
    const d = resolveResource('deployment');
    expect(objectPath(d, 'nginx', 'default', 'scale')).toBe('/apis/apps/v1/namespaces/default/deployments/nginx/scale');
    expect(collectionPath(resolveResource('no'))).toBe('/api/v1/nodes');
    expect(collectionPath(resolveResource('po'))).toBe('/api/v1/pods');
    expect(nameOf(d, 'nginx')).toBe('deployment.apps/nginx');
  });
});

describe('exec', () => {
  it('reads the exit code from the error channel Status', () => {
    expect(exitCodeOf({ status: 'Success' })).toBe(0);
    expect(
      exitCodeOf({
        status: 'Failure',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: '7' }] },
      }),
    ).toBe(7);
    expect(exitCodeOf({ status: 'Failure', reason: 'InternalError' })).toBe(1);
  });
  it('asks for the streams kubectl asks for', () => {
    const p = execPath({
      socket: '',
      token: '',
      namespace: 'default',
      pod: 'mc',
      container: 'shell',
      command: ['curl', 'localhost'],
      stdin: false,
      tty: false,
    });
    expect(p).toBe(
      '/api/v1/namespaces/default/pods/mc/exec?command=curl&command=localhost&container=shell&stdout=true&stderr=true',
    );
  });
});

describe('apply', () => {
  it('calls an object unchanged only when every manifest field matches the live one', () => {
    const live = {
      metadata: { name: 'x', uid: 'u' },
      spec: {
        replicas: 2,
        template: { spec: { containers: [{ name: 'n', image: 'nginx', imagePullPolicy: 'Always' }] } },
      },
    };
    expect(contains(live, { metadata: { name: 'x' }, spec: { replicas: 2 } })).toBe(true);
    expect(contains(live, { spec: { replicas: 3 } })).toBe(false);
    expect(contains(live, { spec: { template: { spec: { containers: [{ name: 'n', image: 'nginx:1.25' }] } } } })).toBe(
      false,
    );
  });
});

describe('topology objects', () => {
  it('makes a Deployment of a counted template and a pinned Pod of a single one', () => {
    const t = parseTopology(
      'name: x\nnodes: [{name: node1}, {name: node2}]\npods:\n  - {name: web, count: 3, containers: [{name: web, program: http --port 8080}]}\n' +
        '  - {name: box, node: node2, containers: [{name: box, command: [sleep, "100"]}]}\n',
    );
    const [dep, box] = topologyObjects(t);
    expect(dep).toMatchObject({
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: { spec: { containers: [{ image: 'flannelette/http', args: ['--port', '8080'] }] } },
      },
    });
    expect(box).toMatchObject({
      kind: 'Pod',
      spec: { nodeName: 'node2', containers: [{ image: 'busybox', command: ['sleep', '100'] }] },
    });
  });
});

describe('node add', () => {
  it('takes the next free subnet, underlay address and index, and refuses duplicates and bad addresses', async () => {
    const { newNode } = await import('../../../src/lab/node-ops.js');
    const t = parseTopology('name: x\nnodes: [{name: node1}, {name: node2}]\n');
    const state = {
      version: 1 as const,
      topology: t,
      createdAt: 0,
      phase: 'running' as const,
      agents: true,
      nodePids: {},
      containerPids: {},
      live: true,
    };
    const n = newNode(state, 'node3');
    expect(n).toMatchObject({
      name: 'node3',
      subnet: '10.244.3.0/24',
      publicIp: '192.168.1.4',
      index: 2,
      netns: 'flt-x-node3',
      gateway: '10.244.3.1',
    });
    expect(newNode(state, 'node4', '192.168.1.77').publicIp).toBe('192.168.1.77');
    expect(() => newNode(state, 'node1')).toThrow(/already has a node "node1"/);
    expect(() => newNode(state, 'node5', '192.168.1.2')).toThrow(/already a node's address/);
    expect(() => newNode(state, 'node5', '10.0.0.1')).toThrow(/not a host address of the underlay/);
    expect(() => newNode(state, 'Bad_Name')).toThrow(/not a valid node name/);
  });
});

describe('control plane timeouts from the topology', () => {
  it('passes nodeMonitorGracePeriod and podEvictionTimeout as flags the controlplane command takes', async () => {
    const { controlplaneArgs } = await import('../../../src/lab/live-children.js');
    const { livePaths } = await import('../../../src/lab/live-paths.js');
    const t = parseTopology('name: x\nnodeMonitorGracePeriod: 5\npodEvictionTimeout: 12\nnodes: [{name: node1}]\n');
    const args = controlplaneArgs(t, livePaths('x', '/tmp/r'));
    expect(args.slice(0, 7)).toEqual([
      'controlplane',
      '--dir',
      '/tmp/r/x',
      '--node-monitor-grace-period',
      '5s',
      '--pod-eviction-timeout',
      '12s',
    ]);
    const { buildProgram } = await import('../../../src/cli/main.js');
    const cp = buildProgram().commands.find((c) => c.name() === 'controlplane')!;
    const flags = cp.options.map((o) => o.long);
    expect(flags).toContain('--node-monitor-grace-period');
    expect(flags).toContain('--pod-eviction-timeout');
    expect(
      controlplaneArgs(parseTopology('name: x\nnodes: [{name: node1}]\n'), livePaths('x', '/tmp/r')).slice(0, 3),
    ).toEqual(['controlplane', '--dir', '/tmp/r/x']);
    // over 20 nodes: kube's own 40 s / 300 s unless the topology says otherwise
    const nodes = (n: number): string =>
      `nodes: [${Array.from({ length: n }, (_, i) => `{name: node${i + 1}}`).join(', ')}]`;
    const big = controlplaneArgs(parseTopology(`name: x\n${nodes(21)}\n`), livePaths('x', '/tmp/r'));
    expect(big.slice(3, 7)).toEqual(['--node-monitor-grace-period', '40s', '--pod-eviction-timeout', '300s']);
    const set = controlplaneArgs(
      parseTopology(`name: x\nnodeMonitorGracePeriod: 7\n${nodes(21)}\n`),
      livePaths('x', '/tmp/r'),
    );
    expect(set.slice(3, 7)).toEqual(['--node-monitor-grace-period', '7s', '--pod-eviction-timeout', '300s']);
    expect(controlplaneArgs(parseTopology(`name: x\n${nodes(20)}\n`), livePaths('x', '/tmp/r')).slice(0, 4)).toEqual([
      'controlplane',
      '--dir',
      '/tmp/r/x',
      '--service-cluster-ip-range',
    ]);
  });
});
