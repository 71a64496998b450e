// The tutorials verbatim against a live two-node lab with no pods (examples/two-nodes-empty.yaml),
// through `flannelette lab ...` (an API client) — seeds 000, 002, 004 and 003's broken Service —
// with the manifests read from ../shared/manifests; and `lab down` leaves nothing behind.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import type { Pod } from '../../../src/k8s/types.js';
import type { SupervisorStatus } from '../../../src/lab/supervisor.js';
import {
  built,
  CLI,
  cli,
  KUBECTL,
  LAB_ROOT,
  labName,
  netnsOf,
  leftovers,
  ROOT,
  run,
  sharedManifests,
  tableRows,
  waitFor,
} from '../../helpers/live-lab.js';

const skip =
  requireRootOrSkip('live lab tutorials') || requireOrSkip(built(), 'live lab tutorials: build first (npm run build)');
const lab = labName('tut');
const noKubectl =
  skip || requireOrSkip(fs.existsSync(KUBECTL), `live lab tutorials with kubectl: ${KUBECTL} is not installed`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-tut-'));
const M = skip ? '' : sharedManifests();
const manifest = (f: string): string => path.join(M, f);
const WELCOME = 'Welcome to nginx!';
/** `flannelette lab VERB --name LAB ARGS...` (--name before any `--`). */
const l = (...args: string[]) => {
  const at = args[0] === 'node' ? 2 : 1;
  return cli(['lab', ...args.slice(0, at), '--name', lab, ...args.slice(at)]);
};

function hostHtml(): string {
  const h = crypto.createHash('sha256');
  for (const dir of ['/usr/share/nginx/html', '/var/www/html']) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).sort()) h.update(`${f}\0`).update(fs.readFileSync(path.join(dir, f)));
  }
  return h.digest('hex');
}

async function pods(): Promise<Record<string, string>[]> {
  const r = await l('get', 'pods', '-o', 'wide');
  if (r.code !== 0) throw new Error(`get pods failed: ${r.err}`);
  return tableRows(r.out);
}

async function podRunning(name: string, ready: string): Promise<Record<string, string> | undefined> {
  return (await pods()).find((p) => p['NAME'] === name && p['STATUS'] === 'Running' && p['READY'] === ready);
}

const inSubnet = (ip: string, node: string): boolean => ip.startsWith(node === 'node1' ? '10.244.1.' : '10.244.2.');

describe.skipIf(skip)('the tutorials in a live lab', () => {
  let htmlBefore = '';
  beforeAll(async () => {
    htmlBefore = hostHtml();
    const up = await cli(['lab', 'up', path.join(ROOT, 'examples/two-nodes-empty.yaml'), '--name', lab], {
      timeoutMs: 180_000,
    });
    if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.err}${up.out}`);
  });
  afterAll(async () => {
    await cli(['lab', 'down', '--name', lab]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the shipped copies of the manifests are byte-identical to ../shared/manifests', () => {
    for (const f of fs.readdirSync(M).filter((x) => x.endsWith('.yaml'))) {
      expect(
        fs.readFileSync(path.join(ROOT, 'examples/manifests', f)).equals(fs.readFileSync(path.join(M, f))),
        f,
      ).toBe(true);
    }
  });

  it('seed 000: a Deployment and a busybox pod; pods reach across nodes; a deleted replica is replaced', async () => {
    const applied = await l('apply', '-f', manifest('seed-000-nginx-deployment.yaml'));
    expect(applied.out, applied.err).toContain('deployment.apps/nginx created');
    expect((await l('apply', '-f', manifest('seed-000-busybox-pod.yaml'))).out).toContain('pod/busybox created');
    const rows = await waitFor(
      'three pods Running',
      async () => {
        const p = await pods();
        return p.length === 3 && p.every((r) => r['STATUS'] === 'Running' && r['READY'] === '1/1') && p;
      },
      90_000,
    );
    const header = (await l('get', 'pods', '-o', 'wide')).out.split('\n')[0];
    expect(header.split(/ {3,}/)).toEqual([
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'AGE',
      'IP',
      'NODE',
      'NOMINATED NODE',
      'READINESS GATES',
    ]);
    for (const r of rows) expect(inSubnet(r['IP'], r['NODE']), `${r['NAME']} ${r['IP']} on ${r['NODE']}`).toBe(true);
    const nginx = rows.filter((r) => r['NAME'].startsWith('nginx-'));
    expect(nginx).toHaveLength(2);
    for (const n of nginx)
      expect(n['NAME']).toMatch(/^nginx-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const busybox = rows.find((r) => r['NAME'] === 'busybox')!;
    const other = nginx.find((n) => n['NODE'] !== busybox['NODE']) ?? nginx[0];
    const curl = await l('exec', 'busybox', '--', 'curl', '-s', '--max-time', '10', `http://${other['IP']}/`);
    expect(curl.out).toContain(WELCOME);
    const wget = await l('exec', 'busybox', '--', 'wget', '-qO-', `http://${other['IP']}/`);
    expect(wget.out).toContain(WELCOME);

    const victim = nginx[0]['NAME'];
    const del = await l('delete', 'pod', victim);
    expect(del.code).toBe(0);
    expect(del.out).toContain(`pod "${victim}" deleted`);
    const replacement = await waitFor(
      'a replacement nginx pod',
      async () => {
        const p = (await pods()).filter((r) => r['NAME'].startsWith('nginx-') && r['STATUS'] === 'Running');
        return p.length === 2 && !p.some((r) => r['NAME'] === victim) && p;
      },
      60_000,
    );
    expect(replacement.map((r) => r['NAME'])).not.toContain(victim);
  });

  it('logs -f follows a container log; get -w prints the rows of changes', async () => {
    const nginx = (await pods()).find((r) => r['NAME'].startsWith('nginx-'))!;
    const follow = spawn(process.execPath, [CLI, 'lab', 'logs', '--name', lab, '-f', nginx['NAME']]);
    let followed = '';
    follow.stdout.on('data', (d) => (followed += String(d)));
    const watch = spawn(process.execPath, [CLI, 'lab', 'get', 'pods', '--name', lab, '-w']);
    let watched = '';
    watch.stdout.on('data', (d) => (watched += String(d)));
    try {
      await waitFor('the watch header', () => watched.startsWith('NAME'), 15_000, 50);
      expect((await l('exec', 'busybox', '--', 'wget', '-qO-', `http://${nginx['IP']}/followed`)).code).not.toBe(0);
      await waitFor('the access log line', () => followed.includes('GET /followed'), 15_000, 50);
      const f = path.join(tmp, 'w.yaml');
      fs.writeFileSync(
        f,
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: watched\nspec:\n  containers:\n  - name: c\n    image: busybox\n    command: [sleep, "100"]\n',
      );
      expect((await l('apply', '-f', f)).code).toBe(0);
      await waitFor('a watched row', () => /^watched\s+\d\/1\s+\S+/m.test(watched), 15_000, 50);
      expect((await l('delete', 'pod', 'watched', '--grace-period', '0', '--force')).code).toBe(0);
    } finally {
      follow.kill();
      watch.kill();
    }
    const logs = await l('logs', nginx['NAME']);
    expect(logs.out).toContain('GET /followed');
  });

  it('seed 002: two containers share the network; container-2 reaches nginx on localhost; host files untouched', async () => {
    expect((await l('apply', '-f', manifest('seed-002-multi-container-pod.yaml'))).code).toBe(0);
    await waitFor('multi-container-pod Running 2/2', () => podRunning('multi-container-pod', '2/2'), 90_000);
    const r = await l('exec', 'multi-container-pod', '-c', 'container-2', '--', 'wget', '-qO-', 'http://localhost');
    expect(r.code).toBe(0);
    expect(r.out).toContain(WELCOME);
    // container-2 appends to its own /usr/share/nginx/html/index.html, never the host's
    await waitFor('container-2 wrote its file', async () =>
      (
        await l('exec', 'multi-container-pod', '-c', 'container-2', '--', 'cat', '/usr/share/nginx/html/index.html')
      ).out.includes('Hello from Container 2'),
    );
    expect(hostHtml()).toBe(htmlBefore);
    expect((await l('delete', 'pod', 'multi-container-pod')).code).toBe(0);
  });

  it('seed 004: shell curls nginx on localhost; describe shows the IP; node ↔ pod both ways; delete removes it', async () => {
    expect((await l('create', '-f', manifest('seed-004-multi-container.yaml'))).out).toContain(
      'pod/multi-container created',
    );
    const row = await waitFor('multi-container Running 2/2', () => podRunning('multi-container', '2/2'), 90_000);
    const curl = await l('exec', 'multi-container', '-c', 'shell', '--', 'curl', '-s', 'localhost');
    expect(curl.out).toContain(WELCOME);
    const described = (await l('describe', 'pod', 'multi-container')).out.split('\n').filter((x) => x.includes('IP:'));
    expect(described.length).toBeGreaterThanOrEqual(2);
    for (const line of described) expect(line.trim().split(/\s+/)[1]).toBe(row['IP']);

    const node = row['NODE'];
    const fromNode = await l('exec', node, '--', 'curl', '-s', '--max-time', '10', `http://${row['IP']}/`);
    expect(fromNode.out).toContain(WELCOME);

    const hostIp = (JSON.parse((await l('get', 'pod', 'multi-container', '-o', 'json')).out) as Pod).status!.hostIP!;
    const reply = 'HTTP/1.0 200 OK\\r\\nContent-Length: 16\\r\\n\\r\\nhello-from-node\\n';
    const listener = l('exec', node, '--', 'sh', '-c', `printf '${reply}' | timeout 30 nc -l 8000`);
    await waitFor(
      'nc listening on the node',
      async () => (await l('exec', node, '--', 'ss', '-ltn')).out.includes(':8000'),
      15_000,
    );
    const fromPod = await l(
      'exec',
      'multi-container',
      '-c',
      'shell',
      '--',
      'curl',
      '-s',
      '--max-time',
      '10',
      `http://${hostIp}:8000/`,
    );
    expect(fromPod.out).toContain('hello-from-node');
    expect((await listener).out).toMatch(/^GET \/ HTTP\/1\.1/m);

    const del = await l('delete', 'pods', 'multi-container');
    expect(del.out).toContain('pod "multi-container" deleted');
    const gone = await l('get', 'pod', 'multi-container');
    expect(gone.code).not.toBe(0);
    expect(gone.err).toMatch(/not found/);
  });

  it('seed 003: the Service with tabs and apiVersion vl is rejected with one line naming file and line; nothing applied', async () => {
    const before = (await l('get', 'pods', '-o', 'name')).out;
    const r = await l('apply', '-f', manifest('seed-003-nodeport-service.yaml'));
    expect(r.code).toBe(2);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/seed-003-nodeport-service\.yaml:\d+:/);
    expect(lines[0]).toMatch(/tab/i);
    expect(lines[0]).toContain('"v1"');
    expect((await l('get', 'pods', '-o', 'name')).out).toBe(before);
  });

  it.skipIf(noKubectl)(
    'seed 002 with real kubectl: get pods -o wide in the node subnet, exec, logs -c container-1, delete removes its netns',
    async () => {
      const kc = (await l('kubeconfig')).out.trim();
      const sh = (script: string) => run('bash', ['-c', script], { env: { KUBECONFIG: kc } });
      const created = await sh(`kubectl create -f ${manifest('seed-002-multi-container-pod.yaml')}`);
      expect(created.out).toContain('pod/multi-container-pod created');
      await waitFor('multi-container-pod Running 2/2', () => podRunning('multi-container-pod', '2/2'), 90_000);
      const rows = tableRows((await sh('kubectl get pods -o wide')).out);
      const row = rows.find((r) => r['NAME'] === 'multi-container-pod')!;
      expect(row['STATUS']).toBe('Running');
      const podCidr = (await sh(`kubectl get node ${row['NODE']} -o jsonpath='{.spec.podCIDR}'`)).out.trim();
      expect(podCidr).toMatch(/^10\.244\.\d+\.0\/24$/);
      expect(row['IP'].split('.').slice(0, 3).join('.')).toBe(podCidr.split('.').slice(0, 3).join('.'));
      const wget = await sh('kubectl exec multi-container-pod -c container-2 -- wget -qO- http://localhost');
      expect(wget.out).toContain(WELCOME);
      await waitFor(
        "container-1's access log line",
        async () => /"GET \/ HTTP\/1\.1" 200/.test((await sh('kubectl logs multi-container-pod -c container-1')).out),
        15_000,
      );
      const netnsBefore = netnsOf(lab);
      expect((await sh('kubectl delete pods multi-container-pod')).out).toContain('pod "multi-container-pod" deleted');
      const gone = netnsBefore.filter((n) => !netnsOf(lab).includes(n));
      expect(gone.length).toBe(1);
      expect(gone[0]).toContain('multi-container-pod');
    },
  );

  it.skipIf(noKubectl)(
    'seed 004 with real kubectl, as the tutorial types it (heredoc create -f -, describe | grep IP:, logs, delete)',
    async () => {
      const kc = (await l('kubeconfig')).out.trim();
      const sh = (script: string) => run('bash', ['-c', script], { env: { KUBECONFIG: kc } });
      const heredoc = `cat << EOF | kubectl create -f -\n${fs.readFileSync(manifest('seed-004-multi-container.yaml'), 'utf8')}EOF\n`;
      expect((await sh(heredoc)).out).toContain('pod/multi-container created');
      await waitFor('multi-container Running 2/2', () => podRunning('multi-container', '2/2'), 90_000);
      const curl = await sh('kubectl exec multi-container -c shell -- curl -s localhost');
      expect(curl.out).toContain(WELCOME);
      const ips = await sh('kubectl describe pod multi-container | grep IP:');
      const podIp = (JSON.parse((await sh('kubectl get pod multi-container -o json')).out) as Pod).status!.podIP!;
      expect(
        ips.out
          .trim()
          .split('\n')
          .map((x) => x.trim().split(/\s+/)[1]),
      ).toEqual([podIp, podIp]);
      await waitFor(
        'nginx access log line',
        async () => /"GET \/ HTTP\/1\.1" 200/.test((await sh('kubectl logs multi-container -c nginx')).out),
        15_000,
      );
      expect((await sh('kubectl exec multi-container -c shell -- false')).code).toBe(1);
      expect((await sh('kubectl delete pods multi-container')).out).toContain('pod "multi-container" deleted');
      expect((await sh('kubectl get pod multi-container')).code).not.toBe(0);
    },
  );

  it('kubeconfig and shell: a shell with KUBECONFIG set and a prompt naming the lab', async () => {
    const kc = (await l('kubeconfig')).out.trim();
    expect(kc).toBe(path.join(LAB_ROOT, lab, 'kubeconfig'));
    const sh = await l('shell', '-c', 'echo "$KUBECONFIG"; kubectl get nodes -o name');
    expect(sh.code).toBe(0);
    expect(sh.out.split('\n').slice(0, 3)).toEqual([kc, 'node/node1', 'node/node2']);
    expect(fs.readFileSync(path.join(LAB_ROOT, lab, 'shellrc'), 'utf8')).toContain(`(lab ${lab})`);
  });

  it('exec -it is an interactive shell on a terminal (raw mode, the window size, the pod hostname)', async () => {
    const pty = createRequire(import.meta.url)('node-pty') as typeof import('node-pty');
    const term = pty.spawn(process.execPath, [CLI, 'lab', 'exec', '--name', lab, '-it', 'busybox', '--', 'sh'], {
      cols: 100,
      rows: 30,
      env: process.env,
    });
    let out = '';
    term.onData((d) => (out += d));
    const exited = new Promise<number>((r) => term.onExit((e) => r(e.exitCode)));
    await waitFor('a prompt', () => out.includes('#') || out.includes('$'), 20_000, 50);
    term.write('hostname; stty size; exit 3\r');
    expect(await exited).toBe(3);
    expect(out).toContain('busybox');
    expect(out).toMatch(/30 100/);
  });

  it('lab down removes every namespace, process, mount and file of the lab, even after kill -9 of the supervisor and a kubelet', async () => {
    const dir = path.join(LAB_ROOT, lab);
    const status = JSON.parse(
      fs.readFileSync(path.join(dir, 'run/supervisor-status.json'), 'utf8'),
    ) as SupervisorStatus;
    process.kill(Number(fs.readFileSync(path.join(dir, 'supervisor.pid'), 'utf8')), 'SIGKILL');
    process.kill(status.children['kubelet/node1'].pid!, 'SIGKILL');
    const down = await cli(['lab', 'down', '--name', lab]);
    expect(down.code).toBe(0);
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
  });
});
