// The lab's API server driven by the REAL kubectl (/usr/bin/kubectl): the tutorials' commands and the
// usual verbs and errors. No kubelet runs here: FakeKubelet (test/helpers/kube-api.ts) is a test double
// of the kubelet, a client of the API that reports pods Running and finishes graceful deletes.
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '../../../src/controlplane/control-plane.js';
import type { Deployment, KubeList, Pod } from '../../../src/k8s/types.js';
import { silentLogger } from '../../../src/util/logger.js';
import { requireOrSkip } from '../../helpers/root.js';
import { FakeKubelet, KUBECTL, hasKubectl, kubectl, waitFor } from '../../helpers/kube-api.js';

const MANIFESTS = '/work/shared/manifests';
const manifest = (f: string): string => path.join(MANIFESTS, f);

describe.skipIf(requireOrSkip(hasKubectl, 'kubectl tests: /usr/bin/kubectl is not installed'))(
  'kubectl against the lab API',
  () => {
    let tmp: string;
    let cp: RunningControlPlane;
    let kubelet: FakeKubelet;
    let env: { kubeconfig: string; cacheDir: string };
    const k = (...args: string[]) => kubectl(env, args);

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-kubectl-'));
      cp = await startControlPlane({ dir: path.join(tmp, 'kctl'), port: 0, logger: silentLogger() });
      env = { kubeconfig: path.join(tmp, 'kctl', 'kubeconfig'), cacheDir: path.join(tmp, 'cache') };
      kubelet = new FakeKubelet(cp.socket, cp.token, [
        { name: 'node1', subnet: 1 },
        { name: 'node2', subnet: 2 },
      ]);
      await kubelet.start();
    });

    afterAll(async () => {
      kubelet?.stop();
      await cp?.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('writes a 0600 kubeconfig with the flannelette-<lab> names, and kubectl version/get nodes work', async () => {
      expect(fs.statSync(env.kubeconfig).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(env.kubeconfig, 'utf8')).toContain('current-context: flannelette-kctl');
      const v = await k('version', '-o', 'json');
      expect(v.code).toBe(0);
      expect((JSON.parse(v.stdout) as { serverVersion: { minor: string } }).serverVersion.minor).toBe('32');
      const nodes = await k('get', 'nodes', '-o', 'wide');
      expect(nodes.stdout.split('\n')[0]).toMatch(
        /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME$/,
      );
      expect(nodes.stdout).toMatch(/node1\s+Ready\s+<none>\s+\S+\s+v1\.32\.0-fake\s+192\.168\.50\.1\s+<none>/);
    });

    it("creates the tutorials' Deployment and pod (file and heredoc on stdin); get -o wide shows them Running in the nodes' subnets", async () => {
      const d = await k('create', '-f', manifest('seed-000-nginx-deployment.yaml'));
      expect(d).toMatchObject({ code: 0, stdout: 'deployment.apps/nginx created\n' });
      const text = fs.readFileSync(manifest('seed-000-busybox-pod.yaml'), 'utf8');
      const heredoc = await new Promise<{ code: number; out: string }>((resolve) => {
        const sh = spawn('bash', ['-c', `cat << EOF | ${KUBECTL} create -f -\n${text}EOF\n`], {
          env: { ...process.env, KUBECONFIG: env.kubeconfig, KUBECACHEDIR: env.cacheDir },
        });
        let out = '';
        sh.stdout.on('data', (c: Buffer) => {
          out += c.toString();
        });
        sh.stderr.on('data', (c: Buffer) => {
          out += c.toString();
        });
        sh.on('close', (code) => resolve({ code: code ?? -1, out }));
      });
      expect(heredoc).toEqual({ code: 0, out: 'pod/busybox created\n' });
      const wide = await waitFor('three pods Running', async () => {
        const r = await k('get', 'pods', '-o', 'wide');
        return r.stdout.split('\n').filter((l) => /\sRunning\s/.test(l)).length === 3 && r.stdout;
      });
      const lines = wide.trim().split('\n');
      expect(lines[0]).toMatch(
        /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/,
      );
      for (const l of lines.slice(1)) {
        const m = l.match(/^(\S+)\s+1\/1\s+Running\s+0\s+\S+\s+(10\.244\.(\d)\.\d+)\s+node(\d)\s+<none>\s+<none>$/);
        expect(m, l).not.toBeNull();
        expect(m![3]).toBe(m![4]);
      }
      const nginxNodes = lines.filter((l) => l.startsWith('nginx-')).map((l) => l.split(/\s+/)[6]);
      expect(new Set(nginxNodes)).toEqual(new Set(['node1', 'node2']));
      expect(lines.filter((l) => /^nginx-[a-z0-9]+-[a-z0-9]{5}\s/.test(l))).toHaveLength(2);
    });

    it('get -o yaml/json/name, -l, and get deployment -o wide', async () => {
      const y = await k('get', 'pod', 'busybox', '-o', 'yaml');
      expect(y.stdout).toMatch(/^apiVersion: v1\nkind: Pod\n/);
      expect(y.stdout).toContain('restartPolicy: Always');
      const j = JSON.parse((await k('get', 'pods', '-o', 'json')).stdout) as KubeList<Pod>;
      expect(j.items).toHaveLength(3);
      expect((await k('get', 'pods', '-l', 'app=nginx', '-o', 'name')).stdout.trim().split('\n')).toEqual([
        expect.stringMatching(/^pod\/nginx-/),
        expect.stringMatching(/^pod\/nginx-/),
      ]);
      expect((await k('get', 'pods', '-l', 'app!=nginx,!pod-template-hash', '-o', 'name')).stdout).toBe(
        'pod/busybox\n',
      );
      expect(
        (await k('get', 'pods', '-l', 'app in (nginx, x)', '--no-headers')).stdout.trim().split('\n'),
      ).toHaveLength(2);
      const dep = await k('get', 'deployment', 'nginx', '-o', 'wide');
      expect(dep.stdout).toMatch(
        /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\nnginx\s+2\/2\s+2\s+2\s+\S+\s+nginx\s+nginx:1\.15\.4\s+app=nginx\n/,
      );
      const rs = await k('get', 'rs');
      expect(rs.stdout).toMatch(/NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nnginx-\w+\s+2\s+2\s+2\s/);
      expect((await k('get', 'ns')).stdout).toMatch(/default\s+Active/);
    });

    it('apply works twice in a row and after an edit; scale; rollout status', async () => {
      const a1 = await k('apply', '-f', manifest('seed-000-nginx-deployment.yaml'));
      expect(a1.code).toBe(0);
      expect(a1.stdout).toBe('deployment.apps/nginx configured\n');
      const a2 = await k('apply', '-f', manifest('seed-000-nginx-deployment.yaml'));
      expect(a2.stdout).toBe('deployment.apps/nginx unchanged\n');
      const edited = fs
        .readFileSync(manifest('seed-000-nginx-deployment.yaml'), 'utf8')
        .replace('image: nginx:1.15.4', 'image: nginx:1.16');
      const a3 = await kubectl(env, ['apply', '-f', '-'], edited);
      expect(a3.stdout).toBe('deployment.apps/nginx configured\n');
      const rollout = await kubectl(env, ['rollout', 'status', 'deployment/nginx', '--timeout=60s'], undefined, 70_000);
      expect(rollout.code, rollout.stderr).toBe(0);
      expect(rollout.stdout.trim().split('\n').pop()).toBe('deployment "nginx" successfully rolled out');
      await waitFor('only new pods', async () => {
        const images = await k('get', 'pods', '-l', 'app=nginx', '-o', 'jsonpath={.items[*].spec.containers[0].image}');
        return images.stdout.split(' ').every((i) => i === 'nginx:1.16');
      }).catch((e) => {
        throw new Error(`${e}; kubelet double errors: ${kubelet.errors.slice(-3).join(' | ')}`);
      });
      const s = await k('scale', 'deployment', 'nginx', '--replicas=4');
      expect(s.stdout).toBe('deployment.apps/nginx scaled\n');
      await waitFor(
        '4 nginx pods',
        async () =>
          (await k('get', 'pods', '-l', 'app=nginx', '--no-headers')).stdout
            .trim()
            .split('\n')
            .filter((l) => l.includes('Running')).length === 4,
      );
      await k('scale', 'deployment', 'nginx', '--replicas=2');
    });

    it('get -w sees a change', async () => {
      const child = spawn(KUBECTL, ['get', 'pods', '-w', '--no-headers'], {
        env: { ...process.env, KUBECONFIG: env.kubeconfig, KUBECACHEDIR: env.cacheDir },
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      try {
        await waitFor('initial list', () => out.includes('busybox'));
        const created = await k('run', 'watched', '--image=busybox', '--restart=Never', '--', 'sleep', '100');
        expect(created.stdout).toBe('pod/watched created\n');
        await waitFor('the new pod in the watch', () => /watched\s+0\/1\s+Pending/.test(out));
        await waitFor('the new pod Running in the watch', () => /watched\s+1\/1\s+Running/.test(out));
      } finally {
        child.kill();
      }
    });

    it('describe prints the pod IP, node and events', async () => {
      const ip = (await k('get', 'pod', 'busybox', '-o', 'jsonpath={.status.podIP}')).stdout;
      const d = await k('describe', 'pod', 'busybox');
      expect(d.code).toBe(0);
      expect(d.stdout.split('\n').filter((l) => l.includes('IP:'))).toEqual(
        expect.arrayContaining([expect.stringMatching(new RegExp(`^IP:\\s+${ip.replace(/\./g, '\\.')}$`))]),
      );
      expect(d.stdout).toMatch(/Node:\s+node\d\/192\.168\.50\.\d/);
      expect(d.stdout).toMatch(
        /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/busybox to node\d/,
      );
      const dd = await k('describe', 'deployment', 'nginx');
      expect(dd.stdout).toMatch(/ScalingReplicaSet/);
      expect(dd.stdout).toMatch(/NewReplicaSet:\s+nginx-\w+ \(2\/2 replicas created\)/);
    });

    it('delete waits for the kubelet (double) to finish the pod; deleting a Deployment removes its pods', async () => {
      const r = await k('delete', 'pods', 'watched');
      expect(r, `kubelet double errors: ${kubelet.errors.slice(-3).join(' | ')}`).toMatchObject({
        code: 0,
        stdout: 'pod "watched" deleted\n',
      });
      expect((await k('get', 'pod', 'watched')).code).toBe(1);
      const before = (await k('get', 'pods', '-l', 'app=nginx', '-o', 'name')).stdout.trim().split('\n');
      await k('delete', before[0]);
      await waitFor('a replacement pod', async () => {
        const now = (await k('get', 'pods', '-l', 'app=nginx', '-o', 'name')).stdout.trim().split('\n');
        return now.length === 2 && !now.includes(before[0]);
      });
    });

    it('typed-client verbs (protobuf bodies) and more: create deployment/namespace, label, rollout restart/history/undo, diff, server-side apply, cordon', async () => {
      expect((await k('create', 'deployment', 'web', '--image=nginx', '--replicas=2', '--port=80')).stdout).toBe(
        'deployment.apps/web created\n',
      );
      const web = JSON.parse((await k('get', 'deployment', 'web', '-o', 'json')).stdout) as Deployment;
      expect(web.spec.template.spec.containers).toEqual([
        expect.objectContaining({ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80, protocol: 'TCP' }] }),
      ]);
      expect(web.spec.selector).toEqual({ matchLabels: { app: 'web' } });
      await waitFor('web available', async () =>
        /^web\s+2\/2\s+2\s+2\s/m.test((await k('get', 'deploy', 'web')).stdout),
      );
      expect((await k('create', 'namespace', 'scratch')).stdout).toBe('namespace/scratch created\n');
      expect((await k('get', 'ns', 'scratch', '--no-headers')).stdout).toMatch(/^scratch\s+Active\s/);
      expect((await k('label', 'deployment', 'web', 'tier=front')).stdout).toBe('deployment.apps/web labeled\n');
      expect((await k('get', 'deploy', '-l', 'tier=front', '-o', 'name')).stdout).toBe('deployment.apps/web\n');
      expect((await k('rollout', 'restart', 'deployment/web')).stdout).toBe('deployment.apps/web restarted\n');
      await waitFor('revision 2', async () => /^2\s/m.test((await k('rollout', 'history', 'deployment/web')).stdout));
      expect((await k('rollout', 'undo', 'deployment/web')).stdout).toBe('deployment.apps/web rolled back\n');
      const diff = await k('diff', '-f', manifest('seed-000-busybox-pod.yaml'));
      expect(diff.stderr).toBe(''); // exit 1 = differences found (server-side dry run), >1 = error
      expect(diff.code).toBeLessThanOrEqual(1);
      const ssa = await k('apply', '--server-side', '-f', manifest('seed-000-nginx-deployment.yaml'));
      expect(ssa.stdout).toBe('deployment.apps/nginx serverside-applied\n');
      expect((await k('cordon', 'node2')).stdout).toBe('node/node2 cordoned\n');
      expect((await k('get', 'node', 'node2', '--no-headers')).stdout).toMatch(/^node2\s+Ready,SchedulingDisabled\s/);
      expect((await k('uncordon', 'node2')).stdout).toBe('node/node2 uncordoned\n');
      expect((await k('delete', 'deployment', 'web')).code).toBe(0);
      expect((await k('delete', 'namespace', 'scratch')).stdout).toBe('namespace "scratch" deleted\n');
    });

    it('errors as kubectl prints them: NotFound, AlreadyExists, Invalid with causes, strict unknown fields', async () => {
      expect(await k('get', 'pod', 'nope')).toMatchObject({
        code: 1,
        stderr: 'Error from server (NotFound): pods "nope" not found\n',
      });
      const again = await k('create', '-f', manifest('seed-000-busybox-pod.yaml'));
      expect(again.code).toBe(1);
      expect(again.stderr).toBe(
        `Error from server (AlreadyExists): error when creating "${manifest('seed-000-busybox-pod.yaml')}": pods "busybox" already exists\n`,
      );
      const bad =
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  replicas: -2\n  selector:\n    matchLabels: {app: a}\n' +
        '  template:\n    metadata:\n      labels: {app: b}\n    spec:\n      containers:\n      - name: c\n        image: nginx\n';
      const inv = await kubectl(env, ['create', '-f', '-'], bad);
      expect(inv.code).toBe(1);
      expect(inv.stderr).toContain(
        'The Deployment "bad" is invalid: \n* spec.replicas: Invalid value: -2: must be greater than or equal to 0\n' +
          '* spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`',
      );
      const unknown = await kubectl(
        env,
        ['create', '-f', '-'],
        'apiVersion: v1\nkind: Pod\nmetadata: {name: u}\nspec:\n  containers:\n  - name: c\n    imagee: nginx\n',
      );
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('strict decoding error: unknown field "spec.containers[0].imagee"');
      expect((await k('get', 'pod', 'u')).code).toBe(1);
    });

    it('exec and logs of a pod whose node has no kubelet socket fail with one clear error, without hanging', async () => {
      const node = (await k('get', 'pod', 'busybox', '-o', 'jsonpath={.spec.nodeName}')).stdout;
      const ex = await k('exec', 'busybox', '--', 'true');
      expect(ex.code).toBe(1);
      expect(ex.stderr).toMatch(
        new RegExp(`^Error from server \\(InternalError\\): the kubelet of node ${node} does not answer`),
      );
      const logs = await k('logs', 'busybox');
      expect(logs.code).toBe(1);
      expect(logs.stderr).toContain(`the kubelet of node ${node} does not answer`);
    });

    it("401 with a wrong token, no token, or another lab's token; nothing is read", async () => {
      const other = await startControlPlane({ dir: path.join(tmp, 'other'), port: 0, logger: silentLogger() });
      try {
        const server = cp.url;
        const empty = path.join(tmp, 'empty-kubeconfig');
        fs.writeFileSync(empty, 'apiVersion: v1\nkind: Config\n', { mode: 0o600 });
        const base = [
          '--server',
          server,
          '--certificate-authority',
          path.join(tmp, 'kctl', 'controlplane', 'tls.crt'),
          '--kubeconfig',
          empty,
        ];
        for (const token of ['wrong', other.token]) {
          const r = await k(...base, '--token', token, 'get', 'pods');
          expect(r.code).toBe(1);
          expect(r.stderr).toContain('error: You must be logged in to the server (Unauthorized)');
        }
        // No token at all: kubectl would prompt for a user name, so ask over HTTPS directly.
        const ca = fs.readFileSync(path.join(tmp, 'kctl', 'controlplane', 'tls.crt'));
        const none = await new Promise<{ status: number; body: unknown }>((resolve, reject) => {
          https
            .get(`${server}/api/v1/namespaces/default/pods`, { ca }, (res) => {
              let b = '';
              res.on('data', (c: Buffer) => {
                b += c.toString();
              });
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(b) as unknown }));
            })
            .on('error', reject);
        });
        expect(none).toEqual({
          status: 401,
          body: {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: 'Unauthorized',
            reason: 'Unauthorized',
            code: 401,
          },
        });
      } finally {
        await other.close();
      }
    });

    it("the tutorials' manifests apply as their README says (seed-003 rejected by kubectl, nothing created)", async () => {
      const bad = await k('apply', '-f', manifest('seed-003-nodeport-service.yaml'));
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(
        /^error: error parsing .*seed-003-nodeport-service\.yaml: error converting YAML to JSON: yaml: line \d+: found character that cannot start any token\n$/,
      );
      for (const f of [
        'seed-002-multi-container-pod.yaml',
        'seed-004-multi-container.yaml',
        'seed-000-busybox-pod.yaml',
        'seed-000-nginx-deployment.yaml',
      ]) {
        const r = await k('apply', '-f', manifest(f));
        expect(r.code, r.stderr).toBe(0);
      }
      await waitFor('multi-container pods Running', async () => {
        const r = await k('get', 'pods', 'multi-container', 'multi-container-pod', '--no-headers');
        return r.stdout.split('\n').filter((l) => /\s2\/2\s+Running\s/.test(l)).length === 2;
      });
      const del = await k('delete', 'pods', 'multi-container');
      expect(del).toMatchObject({ code: 0, stdout: 'pod "multi-container" deleted\n' });
    });
  },
);
