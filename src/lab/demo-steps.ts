// The demo's walkthrough of the tutorials on a live lab with no pods, as the user would type it
// (`flannelette lab apply -f …`, `lab get pods -o wide`, `lab exec …`, `lab describe …`, `lab delete …`),
// each command printed with its output and each claim checked (see demo.ts). `run` runs one CLI
// command (the lab's name is added by the caller). Throws only an abort's reason or what `run` throws;
// a failed claim is a failed check, not an exception.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Cidr, parseIpv4 } from '../addr/ipv4.js';
import type { LabTopology } from './topology.js';
import { pollUntil } from './wait.js';

export interface RunResult {
  code: number;
  out: string;
  err: string;
}

export type Run = (args: string[], opts?: { timeoutMs?: number }) => Promise<RunResult>;

export interface DemoUi {
  say: (line?: string) => void;
  check: (ok: boolean, text: string, detail?: string) => boolean;
  section: (n: number, title: string) => void;
  command: (text: string) => void;
  output: (text: string) => void;
}

const WELCOME = 'Welcome to nginx!';

/** Rows of a kubectl table keyed by header (columns are 3+ spaces apart). */
export function parseTableRows(text: string): Record<string, string>[] {
  const lines = text.split('\n').filter((l) => l.trim());
  const header = lines[0] ?? '';
  const cols: { name: string; at: number }[] = [];
  for (const m of header.matchAll(/\S+( \S+)*/g)) cols.push({ name: m[0], at: m.index });
  return lines
    .slice(1)
    .map((l) => Object.fromEntries(cols.map((c, i) => [c.name, l.slice(c.at, cols[i + 1]?.at).trim()])));
}

function hostHtmlDigest(): string {
  const h = crypto.createHash('sha256');
  for (const dir of ['/usr/share/nginx/html', '/var/www/html']) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).sort()) h.update(`${f}\0`).update(fs.readFileSync(path.join(dir, f)));
  }
  return h.digest('hex');
}

export async function tutorialSteps(
  t: LabTopology,
  manifests: string,
  run: Run,
  ui: DemoUi,
  signal?: AbortSignal,
): Promise<void> {
  const m = (f: string): string => path.join(manifests, f);
  const show = async (args: string[], opts?: { quiet?: boolean; timeoutMs?: number }): Promise<RunResult> => {
    ui.command(`flannelette ${args.join(' ')}`);
    const r = await run(args, opts);
    if (!opts?.quiet) ui.output(`${r.out}${r.err}`);
    return r;
  };
  const pods = async (): Promise<Record<string, string>[]> =>
    parseTableRows((await run(['lab', 'get', 'pods', '-o', 'wide'])).out);
  const waitPods = async (
    what: string,
    ok: (rows: Record<string, string>[]) => boolean,
    timeoutMs = 90_000,
  ): Promise<boolean> => {
    try {
      await pollUntil(async () => ok(await pods()), { timeoutMs, intervalMs: 500, signal, what });
      return true;
    } catch (err) {
      if (signal?.aborted) throw err;
      return false;
    }
  };
  const subnetOf = (node: string): Cidr | undefined => {
    const n = t.nodes.find((x) => x.name === node);
    return n ? Cidr.parse(n.subnet) : undefined;
  };
  const running = (r: Record<string, string>): boolean =>
    r['STATUS'] === 'Running' && /^(\d+)\/\1$/.test(r['READY'] ?? '');
  const htmlBefore = hostHtmlDigest();

  ui.section(1, 'Seed 000: a Deployment of two nginx replicas and a busybox pod');
  await show(['lab', 'apply', '-f', m('seed-000-nginx-deployment.yaml')]);
  await show(['lab', 'apply', '-f', m('seed-000-busybox-pod.yaml')]);
  ui.check(
    await waitPods('three pods Running', (rows) => rows.length === 3 && rows.every(running)),
    'three pods are Running',
  );
  const rows = parseTableRows((await show(['lab', 'get', 'pods', '-o', 'wide'])).out);
  const wrong = rows.filter((r) => !subnetOf(r['NODE'] ?? '')?.contains(parseIpv4(r['IP'] || '0.0.0.0')));
  ui.check(
    rows.length === 3 && wrong.length === 0,
    "every pod's IP is in its node's subnet",
    wrong.map((r) => `${r['NAME']} ${r['IP']} on ${r['NODE']}`).join(', '),
  );
  const nginx = rows.filter((r) => r['NAME']?.startsWith('nginx-'));
  const busybox = rows.find((r) => r['NAME'] === 'busybox');
  const far = nginx.find((r) => r['NODE'] !== busybox?.['NODE']);
  if (busybox && far) {
    ui.say(`   busybox runs on ${busybox['NODE']}; ${far['NAME']} on ${far['NODE']}`);
    const curl = await show(
      ['lab', 'exec', 'busybox', '--', 'curl', '-s', '--max-time', '10', `http://${far['IP']}/`],
      { quiet: true },
    );
    ui.output(
      curl.out
        .split('\n')
        .filter((l) => /<title>|<h1>/.test(l))
        .join('\n'),
    );
    ui.check(
      curl.out.includes(WELCOME),
      `busybox (${busybox['NODE']}) got nginx's welcome page from ${far['IP']} (${far['NODE']}) across the overlay`,
    );
  } else ui.check(false, 'an nginx pod runs on the other node than busybox', JSON.stringify(rows));
  const victim = nginx[0]?.['NAME'];
  if (victim) {
    await show(['lab', 'delete', 'pod', victim]);
    const replaced = await waitPods('a replacement nginx pod', (now) => {
      const n = now.filter((r) => r['NAME']?.startsWith('nginx-'));
      return n.length === 2 && n.every(running) && !n.some((r) => r['NAME'] === victim);
    });
    await show(['lab', 'get', 'pods', '-o', 'wide']);
    ui.check(
      replaced,
      `the Deployment replaced ${victim} with a new pod (new name, new IP possible: "subject to change")`,
    );
  }

  ui.section(2, 'Seed 002: two containers in one pod share its network');
  await show(['lab', 'apply', '-f', m('seed-002-multi-container-pod.yaml')]);
  ui.check(
    await waitPods('multi-container-pod 2/2', (now) =>
      now.some((r) => r['NAME'] === 'multi-container-pod' && r['READY'] === '2/2' && running(r)),
    ),
    'multi-container-pod is Running 2/2',
  );
  const wget = await show(
    ['lab', 'exec', 'multi-container-pod', '-c', 'container-2', '--', 'wget', '-qO-', 'http://localhost'],
    { quiet: true },
  );
  ui.check(wget.out.includes(WELCOME), 'container-2 reached nginx (container-1) on localhost');
  ui.check(
    hostHtmlDigest() === htmlBefore,
    "the host's /usr/share/nginx/html is untouched (each container has its own)",
  );
  await show(['lab', 'delete', 'pod', 'multi-container-pod']);

  ui.section(3, 'Seed 004: a shell container and nginx; the pod IP from describe; node ↔ pod');
  await show(['lab', 'create', '-f', m('seed-004-multi-container.yaml')]);
  const ok4 = await waitPods('multi-container 2/2', (now) =>
    now.some((r) => r['NAME'] === 'multi-container' && r['READY'] === '2/2' && running(r)),
  );
  ui.check(ok4, 'multi-container is Running 2/2');
  const curl4 = await show(['lab', 'exec', 'multi-container', '-c', 'shell', '--', 'curl', '-s', 'localhost'], {
    quiet: true,
  });
  ui.check(curl4.out.includes(WELCOME), "curl localhost from the shell container shows nginx's page");
  ui.command('flannelette lab describe pod multi-container | grep IP:');
  const ipLines = (await run(['lab', 'describe', 'pod', 'multi-container'])).out
    .split('\n')
    .filter((l) => l.includes('IP:'));
  ui.output(ipLines.join('\n'));
  const row = (await pods()).find((r) => r['NAME'] === 'multi-container');
  const podIp = row?.['IP'] ?? '';
  ui.check(
    ipLines.length >= 2 && ipLines.every((l) => l.trim().split(/\s+/)[1] === podIp),
    `describe shows the pod IP ${podIp}`,
  );
  const node = row?.['NODE'] ?? t.nodes[0].name;
  const fromNode = await show(['lab', 'exec', node, '--', 'curl', '-s', '--max-time', '10', `http://${podIp}/`], {
    quiet: true,
  });
  ui.check(fromNode.out.includes(WELCOME), `${node} reached nginx at ${podIp}`);
  const nodeIp = t.nodes.find((n) => n.name === node)?.publicIp ?? '';
  const reply = 'HTTP/1.0 200 OK\\r\\nContent-Length: 16\\r\\n\\r\\nhello-from-node\\n';
  ui.command(`flannelette lab exec ${node} -- nc -l 8000      (in the background)`);
  const listener = run(['lab', 'exec', node, '--', 'sh', '-c', `printf '${reply}' | timeout 30 nc -l 8000`], {
    timeoutMs: 40_000,
  });
  await pollUntil(async () => (await run(['lab', 'exec', node, '--', 'ss', '-ltnH'])).out.includes(':8000'), {
    timeoutMs: 15_000,
    signal,
    what: 'nc to listen',
  }).catch(() => undefined);
  const fromPod = await show([
    'lab',
    'exec',
    'multi-container',
    '-c',
    'shell',
    '--',
    'curl',
    '-s',
    '--max-time',
    '10',
    `http://${nodeIp}:8000/`,
  ]);
  const heard = await listener;
  ui.check(
    fromPod.out.includes('hello-from-node') && /^GET \//m.test(heard.out),
    `the pod reached nc on ${node} (${nodeIp}:8000) and nc saw its request`,
  );
  await show(['lab', 'delete', 'pods', 'multi-container']);
  const gone = await run(['lab', 'get', 'pod', 'multi-container']);
  ui.check(gone.code !== 0 && /not found/.test(gone.err), 'multi-container is gone');

  ui.section(4, 'Seed 003: the Service as the tutorial prints it (tabs, apiVersion vl)');
  const before = (await run(['lab', 'get', 'pods', '-o', 'name'])).out;
  const bad = await show(['lab', 'apply', '-f', m('seed-003-nodeport-service.yaml')]);
  const line = bad.err.trim();
  ui.check(
    bad.code === 2 &&
      !line.includes('\n') &&
      /seed-003-nodeport-service\.yaml:\d+:/.test(line) &&
      /tab/i.test(line) &&
      line.includes('"v1"'),
    'rejected with one line naming the file, the line, the tabs and the v1 it meant',
  );
  ui.check((await run(['lab', 'get', 'pods', '-o', 'name'])).out === before, 'nothing was applied');

  ui.section(5, 'Every pod to every pod and node: lab check');
  const check = await show(['lab', 'check'], { timeoutMs: 120_000 });
  ui.check(check.code === 0, 'every pair answers ping and TCP');
}
