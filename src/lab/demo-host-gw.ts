// The demo's "overlay-free" step (seed 004's family: host-gw, native speed with no overhead): the same
// pod traffic — one ping from a pod to a pod on the other node — captured on the underlay switch of the
// demo's vxlan lab and of a second, static two-node host-gw lab (examples/two-nodes-host-gw.yaml, brought
// up and torn down by the commands a user would type), and shown side by side: vxlan carries the pods'
// packet inside UDP/VXLAN between the nodes' public IPs, 50 bytes more per frame; host-gw puts the pods'
// own packet on the wire. Every claim is a check. Throws only an abort's reason or what `run` throws.
import path from 'node:path';
import { LAB_NAME_RE, underlayNetns } from './names.js';
import { captureSwitch, describeFrame, sideBySide, type WireFrame } from './demo-wire.js';
import { parseTableRows, type DemoUi, type Run } from './demo-steps.js';
import type { LabTopology } from './topology.js';

/** The host-gw lab's name next to the demo's lab `name` (a valid lab name, never `name` itself). */
export function hostGwLabName(name: string): string {
  const candidate = `${name.slice(0, 14)}hg`;
  return candidate !== name && LAB_NAME_RE.test(candidate) ? candidate : `${name.slice(0, 14)}gw`;
}

/** The VXLAN overhead on the wire: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD = 50;

/** The pods table of `lab status` (a static lab has no API server for `lab get`). */
export function statusPods(text: string): Record<string, string>[] {
  const block = text.split(/\n\s*\n/).find((b) => /^NAME\s+READY\s+STATUS/m.test(b.trim()));
  return block ? parseTableRows(block.trim()) : [];
}

const request = (frames: WireFrame[]): WireFrame | undefined => frames.find((f) => f.icmpType === 8);

export async function overlayFreeSteps(o: {
  t: LabTopology;
  /** Runs CLI commands against the demo's (vxlan) lab. */
  run: Run;
  /** Runs CLI commands against the host-gw lab (hostGwLabName). */
  runHostGw: Run;
  hostGwLab: string;
  hostGwTopology: string;
  ui: DemoUi;
  signal?: AbortSignal;
}): Promise<void> {
  const { t, ui, signal } = o;
  const show = async (r: Run, args: string[]): Promise<{ code: number; out: string; err: string }> => {
    ui.command(`flannelette ${args.join(' ')}`);
    const res = await r(args);
    ui.output(`${res.out}${res.err}`);
    return res;
  };
  ui.section(6, "Seed 004's overlay-free family: the same ping on the wire, vxlan and host-gw");
  const rows = parseTableRows((await o.run(['lab', 'get', 'pods', '-o', 'wide'])).out);
  const busybox = rows.find((r) => r['NAME'] === 'busybox');
  const far = rows.find((r) => r['NAME']?.startsWith('nginx-') && r['NODE'] !== busybox?.['NODE']);
  if (!busybox || !far) {
    ui.check(false, 'busybox and an nginx pod on the other node are there to ping', JSON.stringify(rows));
    return;
  }
  const port = t.backend.port;
  const vxNs = t.underlayNetns;
  ui.command(`ip netns exec ${vxNs} tcpdump -ni br0 -c 2 -T vxlan udp port ${port}   (in the background)`);
  const vx = await captureSwitch({
    underlayNetns: vxNs,
    filter: `udp port ${port}`,
    count: 2,
    vxlanPort: port,
    signal,
    trigger: () => show(o.run, ['lab', 'exec', 'busybox', '--', 'ping', '-c', '1', '-W', '5', far['IP']]),
  });
  ui.output(vx.text);

  const up = await show(o.runHostGw, ['lab', 'up', '--static', o.hostGwTopology]);
  if (up.code !== 0) {
    ui.check(false, `the host-gw lab ${o.hostGwLab} came up`, up.err.trim());
    return;
  }
  const hgRows = statusPods((await o.runHostGw(['lab', 'status'])).out);
  const client = hgRows.find((r) => r['NAME'] === 'client');
  const web = hgRows.find((r) => r['NAME'] === 'web');
  const hgNs = underlayNetns(o.hostGwLab);
  ui.command(`ip netns exec ${hgNs} tcpdump -ni br0 -c 2 icmp   (in the background)`);
  const hg = await captureSwitch({
    underlayNetns: hgNs,
    filter: 'icmp',
    count: 2,
    signal,
    trigger: () => show(o.runHostGw, ['lab', 'exec', 'client', '--', 'ping', '-c', '1', '-W', '5', web?.['IP'] ?? '']),
  });
  ui.output(hg.text);

  const vxReq = request(vx.frames);
  const hgReq = request(hg.frames);
  ui.say();
  for (const line of sideBySide(
    { title: `vxlan (lab ${t.name}): busybox > ${far['NAME']}`, lines: describeFrame(vxReq) },
    { title: `host-gw (lab ${o.hostGwLab}): client > web`, lines: describeFrame(hgReq) },
  ))
    ui.say(`     ${line}`);
  ui.say();

  const nodeIp = (name: string | undefined): string | undefined => t.nodes.find((n) => n.name === name)?.publicIp;
  const outer = vxReq?.ips[0];
  const inner = vxReq?.ips[1];
  const vxOk =
    vxReq?.ips.length === 2 &&
    outer?.src === nodeIp(busybox['NODE']) &&
    outer?.dst === nodeIp(far['NODE']) &&
    vxReq.udpDstPort === port &&
    inner?.src === busybox['IP'] &&
    inner?.dst === far['IP'];
  ui.check(
    vxOk,
    `vxlan: the switch carries ${busybox['NODE']} > ${far['NODE']} (public IPs) in UDP ${port}, the pods' packet inside`,
    vxOk ? undefined : JSON.stringify(vxReq),
  );
  const hgOk =
    hgReq?.ips.length === 1 &&
    hgReq.ips[0].src === client?.['IP'] &&
    hgReq.ips[0].dst === web?.['IP'] &&
    hgReq.udpDstPort === undefined;
  ui.check(
    hgOk,
    `host-gw: the switch carries the pods' own packet ${client?.['IP']} > ${web?.['IP']}, no encapsulation`,
    hgOk ? undefined : JSON.stringify(hgReq),
  );
  ui.check(
    vxReq !== undefined && hgReq !== undefined && vxReq.len - hgReq.len === VXLAN_OVERHEAD,
    `the same ping is ${VXLAN_OVERHEAD} bytes longer per frame with vxlan (${vxReq?.len} vs ${hgReq?.len})`,
  );
  await show(o.runHostGw, ['lab', 'down']);
}

/** The host-gw topology file the demo uses. */
export function hostGwTopologyFile(root: string): string {
  return path.join(root, 'examples', 'two-nodes-host-gw.yaml');
}
