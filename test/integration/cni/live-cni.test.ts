// A live lab whose pods are wired through CNI (Debian's containernetworking-plugins + the flannel
// plugin): pod addresses are host-local's reservations in the node's own CNI directory, released on
// deletion; cni0 and eth0 come from the bridge plugin; a hostPort works through portmap; and a podman
// container (CNI network backend, image imported from a busybox rootfs, no registry) started in
// node1's namespace with the same conflist reaches a lab pod on node2 across the overlay. podman's
// configuration, storage and state live in this test's temp directory; what podman itself creates
// on the host (its lock, blob cache, cgroup parents, libcni's results dir) is removed and checked.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPlugins } from '../../../src/cni/conflist.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { built, cli, labName, LAB_ROOT, leftovers, ROOT, run, waitFor } from '../../helpers/live-lab.js';

const hasPodman = fs.existsSync('/usr/bin/podman') && fs.existsSync('/usr/sbin/runc');
const skip =
  requireRootOrSkip('pods through CNI') ||
  requireOrSkip(built(), 'pods through CNI: build first (npm run build)') ||
  requireOrSkip(
    missingPlugins(['/usr/lib/cni']).length === 0,
    'pods through CNI: containernetworking-plugins missing',
  ) ||
  requireOrSkip(hasPodman, 'podman on the overlay: podman and runc are not installed (apt-get install podman)');
const lab = labName('cni');

/** Host paths podman may create outside our temp dirs; removed after the test if they were not there before. */
function hostPodmanPaths(): string[] {
  const cgroups = fs.existsSync('/sys/fs/cgroup')
    ? fs.readdirSync('/sys/fs/cgroup').map((c) => path.join('/sys/fs/cgroup', c, 'libpod_parent'))
    : [];
  return [
    '/dev/shm/libpod_lock',
    '/var/lib/containers',
    '/var/lib/cni',
    '/run/containers',
    '/run/libpod',
    ...cgroups,
  ].filter((p) => fs.existsSync(p));
}

function removeCgroupTree(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  fs.rmdirSync(dir);
}

describe.skipIf(skip)('pods wired through CNI in a live lab, and podman on the overlay', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-cni-live-'));
  const nodeDir = (node: string): string => path.join(LAB_ROOT, lab, 'nodes', node);
  const get = async (name: string): Promise<{ ip: string; uid: string }> => {
    const r = await cli(['lab', 'get', 'pod', name, '-o', 'json', '--name', lab]);
    const pod = JSON.parse(r.out) as { metadata: { uid: string }; status: { podIP?: string } };
    return { ip: pod.status.podIP ?? '', uid: pod.metadata.uid };
  };
  // every pod on node1 (the lab's own coredns pod may be there too), as host-local must have reserved them
  const podsOn = async (node: string): Promise<{ ip: string; uid: string }[]> => {
    const r = await cli(['lab', 'get', 'pods', '-A', '-o', 'json', '--name', lab]);
    const list = JSON.parse(r.out) as {
      items: { metadata: { uid: string }; spec: { nodeName?: string }; status: { podIP?: string } }[];
    };
    return list.items
      .filter((p) => p.spec.nodeName === node && p.status.podIP)
      .map((p) => ({ ip: p.status.podIP ?? '', uid: p.metadata.uid }));
  };

  beforeAll(async () => {
    const up = await cli(['lab', 'up', path.join(ROOT, 'examples/two-nodes-empty.yaml'), '--name', lab]);
    expect(up.code, up.err).toBe(0);
    const manifest = [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  nodeName: node2\n  containers:\n  - {name: nginx, image: nginx}',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: hp}\nspec:\n  nodeName: node1\n  containers:\n  - name: nginx\n    image: nginx\n    ports: [{containerPort: 80, hostPort: 8081}]',
    ].join('\n---\n');
    fs.writeFileSync(path.join(tmp, 'pods.yaml'), manifest);
    const applied = await cli(['lab', 'apply', '-f', path.join(tmp, 'pods.yaml'), '--name', lab]);
    expect(applied.code, applied.err).toBe(0);
    await waitFor('both pods Running with an IP', async () => (await get('web')).ip && (await get('hp')).ip, 90_000);
  }, 240_000);

  afterAll(async () => {
    if (skip) return;
    await cli(['lab', 'down', '--name', lab]);
    fs.rmSync(tmp, { recursive: true, force: true });
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
  }, 120_000);

  it("each pod's address is host-local's reservation in its node's directory; cni0 and eth0 come from the bridge plugin", async () => {
    for (const [pod, node, subnet] of [
      ['web', 'node2', '10.244.2.'],
      ['hp', 'node1', '10.244.1.'],
    ] as const) {
      const { ip, uid } = await get(pod);
      expect(ip.startsWith(subnet)).toBe(true);
      const reservation = path.join(nodeDir(node), 'cni', 'networks', 'cbr0', ip);
      expect(fs.readFileSync(reservation, 'utf8').split(/\s/)[0]).toBe(uid);
      expect(JSON.parse(fs.readFileSync(path.join(nodeDir(node), 'cni', 'flannel', uid), 'utf8'))).toMatchObject({
        type: 'bridge',
        isGateway: true,
        isDefaultGateway: true,
        hairpinMode: true,
        mtu: 1450,
        ipam: { type: 'host-local', ranges: [[{ subnet: `${subnet}0/24` }]], routes: [{ dst: '10.244.0.0/16' }] },
      });
    }
    const cni0 = await run('ip', ['-n', `flt-${lab}-node1`, '-d', '-o', 'addr', 'show', 'dev', 'cni0']);
    expect(cni0.out).toContain('inet 10.244.1.1/24');
    const eth0 = await cli(['lab', 'exec', 'hp', '--name', lab, '--', 'ip', 'route']);
    expect(eth0.out).toMatch(/default via 10\.244\.1\.1 dev eth0/);
    expect(eth0.out).toMatch(/10\.244\.0\.0\/16 via 10\.244\.1\.1 dev eth0/);
  });

  it("a hostPort reaches the pod through portmap: node2 → node1's address:8081", async () => {
    const page = await waitFor('nginx through the hostPort', async () => {
      const r = await run('ip', [
        'netns',
        'exec',
        `flt-${lab}-node2`,
        'curl',
        '-s',
        '--max-time',
        '3',
        'http://192.168.1.2:8081/',
      ]);
      return r.out.includes('Welcome to nginx') && r.out;
    });
    expect(page).toContain('Welcome to nginx!');
  });

  it('a podman container on node1, attached with the same conflist, reaches the nginx pod on node2', async () => {
    const before = new Set(hostPodmanPaths());
    const p = path.join(tmp, 'podman');
    const rootfs = path.join(p, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(p, 'net.d'), { recursive: true });
    // a tiny rootfs: busybox and, when it is not static, the libraries ldd names (Debian's dynamic busybox
    // wget crashes without the rest of glibc, so HTTP goes through nc)
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    const ldd = await run('ldd', ['/bin/busybox']);
    for (const lib of ldd.out.match(/\/\S+/g) ?? []) {
      fs.mkdirSync(path.join(rootfs, path.dirname(lib)), { recursive: true });
      fs.copyFileSync(fs.realpathSync(lib), path.join(rootfs, lib));
    }
    for (const a of ['sh', 'nc', 'ip', 'ping']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
    // podman's own configuration, storage and state, all in this directory
    fs.writeFileSync(
      path.join(p, 'containers.conf'),
      [
        '[containers]',
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
        '[engine]',
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = "${p}/events.log"`,
        `tmp_dir = "${p}/tmp"`,
        `static_dir = "${p}/root/libpod"`,
        `volume_path = "${p}/root/volumes"`,
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = ["${ROOT}/bin/cni", "/usr/lib/cni"]`,
        `network_config_dir = "${p}/net.d"`,
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(p, 'storage.conf'),
      `[storage]\ndriver = "vfs"\ngraphroot = "${p}/root"\nrunroot = "${p}/runroot"\n`,
    );
    // the lab node's conflist, as a user would copy it (same subnet.env and host-local state as the kubelet)
    fs.copyFileSync(
      path.join(nodeDir('node1'), 'cni', 'net.d', '10-flannel.conflist'),
      path.join(p, 'net.d', '10-flannel.conflist'),
    );
    const env = {
      CONTAINERS_CONF: path.join(p, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: path.join(p, 'storage.conf'),
    };
    try {
      const tar = await run('sh', ['-c', `tar -C ${rootfs} -c . | podman import - localhost/flt-busybox:1`], { env });
      expect(tar.code, tar.err).toBe(0);
      const nets = await run('podman', ['network', 'ls', '--format', '{{.Name}} {{.Driver}}'], { env });
      expect(nets.out).toContain('cbr0 flannel');
      const { ip: web } = await get('web');
      const ctr = await run(
        'nsenter',
        [
          `--net=/run/netns/flt-${lab}-node1`,
          'podman',
          'run',
          '--rm',
          '--network',
          'cbr0',
          'localhost/flt-busybox:1',
          'sh',
          '-c',
          `ip -4 -o addr show eth0; ping -c 5 -w 15 ${web}; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${web} 80`,
        ],
        { env, timeoutMs: 120_000 },
      );
      expect(ctr.code, `${ctr.out}\n${ctr.err}`).toBe(0);
      expect(ctr.out).toMatch(/eth0\s+inet 10\.244\.1\.\d+\/24/);
      expect(ctr.out).toContain('Welcome to nginx!');
      // podman's DEL released the container's address: only the pods' addresses remain on node1 (hp's among them)
      const reserved = fs
        .readdirSync(path.join(nodeDir('node1'), 'cni', 'networks', 'cbr0'))
        .filter((f) => /^\d/.test(f));
      const podIps = (await podsOn('node1')).map((p) => p.ip);
      expect(podIps).toContain((await get('hp')).ip);
      expect(reserved.sort()).toEqual(podIps.sort());
    } finally {
      await run('podman', ['rmi', '-a', '-f'], { env });
      for (const leftover of hostPodmanPaths().filter((x) => !before.has(x))) {
        if (leftover.startsWith('/sys/fs/cgroup/')) removeCgroupTree(leftover);
        else fs.rmSync(leftover, { recursive: true, force: true });
      }
    }
    expect(hostPodmanPaths().filter((x) => !before.has(x))).toEqual([]);
    expect(fs.readdirSync('/run/netns').filter((n) => /^(cni|netns)-/.test(n))).toEqual([]);
  });

  it('deleting a pod releases its address and its stored delegate config', async () => {
    const { ip, uid } = await get('hp');
    const del = await cli(['lab', 'delete', 'pod', 'hp', '--name', lab]);
    expect(del.code, del.err).toBe(0);
    expect(fs.existsSync(path.join(nodeDir('node1'), 'cni', 'networks', 'cbr0', ip))).toBe(false);
    expect(fs.existsSync(path.join(nodeDir('node1'), 'cni', 'flannel', uid))).toBe(false);
    const cached = fs.readdirSync(path.join(nodeDir('node1'), 'cni', 'cache', 'results'));
    expect(cached.filter((f) => f.includes(uid))).toEqual([]);
    // what is left belongs to the pods still on node1 (the lab's coredns pod, if it runs there)
    const others = (await podsOn('node1')).map((p) => p.uid);
    expect(cached.every((f) => others.some((u) => f.includes(u)))).toBe(true);
    const nat = await run('ip', ['netns', 'exec', `flt-${lab}-node1`, 'iptables-save', '-t', 'nat']);
    expect(nat.out.split('\n').filter((l) => l.includes('8081'))).toEqual([]);
  });
});
