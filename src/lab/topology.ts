// Lab topology files: parse the YAML (keeping line numbers), validate everything before anything is
// created, and resolve it into a plain, JSON-safe description of the lab: node subnets and underlay
// addresses allocated, replicas named and scheduled, pod addresses assigned, namespace and interface
// names chosen.
//
// Throws ConfigError (one line: `<file>:<line>: <field path> <what is wrong>`) for any problem;
// nothing else throws. Pure: no I/O besides what the caller passes in.
import { Cidr, formatIpv4, parseIpv4, type Ipv4 } from '../addr/ipv4.js';
import { anyBackendFacts, anyBackendNamesText, isAnyBackendName, type AnyBackendName } from '../backend/table.js';
import { backendFieldProblem, isOptionalBoolean, labBackend, RESERVED_NAMES, TOP_KEYS } from './topology-backend.js';
import { IMPAIRMENT_FIELDS, parseImpairment } from '../impair/spec.js';
import { pathText, YamlFields } from '../util/yaml-fields.js';
import { parseYamlSource, type YamlPath } from '../util/yaml-source.js';
import { gatewayOf, nextFreeHost, nextFreeSubnet, podAddress, podCapacity } from './ipam.js';
import { addServiceCidr6, resolveServices } from './topology-services.js';
import { resolveIpv6 } from './topology-ipv6.js';
import { offUnderlay, resolveRouter, routerNetns, type LabRouter } from './topology-router.js';
import {
  IFNAME_MAX,
  LAB_NAME_RE,
  OBJECT_NAME_RE,
  hostVethName,
  nodeNetns,
  podNetns,
  replicaName,
  templateHash,
  tunDeviceName,
  underlayNetns,
  underlayPortName,
  vtepMac,
} from './names.js';
import type {
  CapturePoint,
  LabBackend,
  LabContainer,
  LabPod,
  LabNode,
  LabLink,
  LabTopology,
} from './topology-types.js';
import { resolveDns } from './topology-dns.js';
import { resolveRuntime } from './topology-runtime.js';
import { leastLoaded } from './pod-placement.js';

export type {
  CapturePoint,
  LabBackend,
  LabContainer,
  LabPod,
  LabNode,
  LabLink,
  LabTopology,
} from './topology-types.js';

export const BUILTIN_PROGRAMS = ['http', 'echo', 'sleep', 'fetch'] as const;

type Path = YamlPath;

const TIMEOUT_KEYS = ['nodeMonitorGracePeriod', 'podEvictionTimeout'] as const;

/** Parses and resolves a topology. `overrideName` replaces the file's `name` (for `lab up --name`). */
export function parseTopology(text: string, source = '<inline>', overrideName?: string): LabTopology {
  const yaml = parseYamlSource(text, source.split('/').pop() ?? source);
  return new Validator(yaml).resolve(yaml.doc.toJS() as unknown, source, overrideName);
}

class Validator extends YamlFields {
  /** Where each pod was defined, for messages about it after resolution. */
  private readonly podPaths = new Map<string, Path>();

  private cidr(text: string, path: Path): Cidr {
    try {
      return Cidr.parse(text, { strict: true });
    } catch (err) {
      this.fail(path, `is not a valid network: ${(err as Error).message}`);
    }
  }

  private ip(text: string, path: Path): Ipv4 {
    try {
      return parseIpv4(text);
    } catch (err) {
      this.fail(path, `is not a valid address: ${(err as Error).message}`);
    }
  }

  private name(text: string, path: Path): string {
    if (!OBJECT_NAME_RE.test(text))
      this.fail(path, `"${text}" is not a valid name (lowercase letters, digits and '-', at most 63)`);
    return text;
  }

  resolve(raw: unknown, source: string, overrideName?: string): LabTopology {
    const top = this.obj(raw ?? {}, [], [...TOP_KEYS, 'services', 'dns', 'runtime', ...TIMEOUT_KEYS]);

    const name = overrideName ?? this.str(top, 'name', [], false) ?? 'lab';
    if (!LAB_NAME_RE.test(name)) {
      this.fail(
        overrideName ? [] : ['name'],
        `"${name}" is not a valid lab name (a lowercase letter, then up to 15 lowercase letters or digits; no '-')`,
      );
    }

    const network = this.cidr(this.str(top, 'network', [], false) ?? '10.244.0.0/16', ['network']);
    const subnetLen = this.int(top, 'subnetLen', [], network.prefix + 1, 30) ?? Math.max(24, network.prefix + 1);
    if (subnetLen <= network.prefix)
      this.fail(['subnetLen'], `must be longer than the network's prefix /${network.prefix}`);

    const backend = this.backend(top['backend']);
    const underlay = this.cidr(this.str(top, 'underlay', [], false) ?? '192.168.1.0/24', ['underlay']);
    if (underlay.prefix > 30) this.fail(['underlay'], 'must have room for nodes (prefix /30 or shorter)');
    if (underlay.overlaps(network)) this.fail(['underlay'], `${underlay} overlaps the pod network ${network}`);
    const mtu = this.int(top, 'mtu', [], 576, 9000) ?? 1500;
    const podMtu = mtu - anyBackendFacts(backend.type).overhead;

    const router = resolveRouter(top['router'], name, underlay, network, (p, w) => this.fail(p, w));
    const nodes = this.nodes(top['nodes'], name, network, subnetLen, underlay, backend.type, router);
    const ipv6 = resolveIpv6(top, nodes, network, subnetLen, (p, w) => this.fail(p, w), underlay);
    const pods = this.pods(top['pods'], name, nodes);
    const links = this.links(top['links'], nodes);

    this.checkUniqueNetns(name, nodes, pods);
    if (!isOptionalBoolean(top['ipMasq'])) this.fail(['ipMasq'], 'must be true or false');
    const ips = nodes.map((n) => n.publicIp);
    const services = resolveServices(top['services'], network, underlay, ips, (p, w) => this.fail(p, w));
    addServiceCidr6(services, top['services'], ipv6.ipv6Network, (p, w) => this.fail(p, w));
    return {
      ...(top['ipMasq'] === true ? { ipMasq: true } : {}),
      ...resolveRuntime(top['runtime'], (p, w) => this.fail(p, w)),
      ...(router ? { router } : {}),
      ...ipv6,
      name,
      source,
      network: network.toString(),
      subnetLen,
      backend,
      underlay: underlay.toString(),
      underlayNetns: underlayNetns(name),
      mtu,
      podMtu,
      nodes,
      pods,
      links,
      nodeMonitorGracePeriod: this.int(top, 'nodeMonitorGracePeriod', [], 2, 3600),
      podEvictionTimeout: this.int(top, 'podEvictionTimeout', [], 0, 86_400),
      services,
      dns: resolveDns(top['dns'], (p, what) => this.fail(p, what), services.cidr),
    };
  }

  private links(value: unknown, nodes: LabNode[]): LabLink[] {
    if (value === undefined || value === null) return [];
    const names = nodes.map((n) => n.name);
    return this.list(value, ['links']).map((item, i) => {
      const path: Path = ['links', i];
      const rec = this.obj(item, path, ['between', ...IMPAIRMENT_FIELDS]);
      const between = this.list(rec['between'], [...path, 'between']);
      if (between.length !== 2 || between.some((n) => typeof n !== 'string'))
        this.fail([...path, 'between'], 'must name two nodes, e.g. [node1, node2]');
      const [a, b] = between as [string, string];
      for (const n of [a, b])
        if (!names.includes(n)) this.fail([...path, 'between'], `"${n}" is not a node of this lab`);
      if (a === b) this.fail([...path, 'between'], 'must name two different nodes');
      const impairment: Record<string, string> = {};
      for (const [key, v] of Object.entries(rec)) if (key !== 'between') impairment[key] = String(v);
      if (Object.keys(impairment).length === 0)
        this.fail(path, `gives no impairment (one of: ${IMPAIRMENT_FIELDS.join(', ')})`);
      try {
        parseImpairment(impairment);
      } catch (err) {
        this.fail(path, (err as Error).message);
      }
      return { between: [a, b], impairment };
    });
  }

  private backend(value: unknown): LabBackend {
    if (value === undefined || value === null) return labBackend('vxlan', undefined, undefined, undefined);
    const keys = ['type', 'vni', 'port', 'directRouting'];
    const rec = typeof value === 'string' ? { type: value } : this.obj(value, ['backend'], keys);
    const type = this.str(rec, 'type', ['backend'], false) ?? 'vxlan';
    if (!isAnyBackendName(type))
      this.fail(['backend', 'type'], `"${type}" is not a backend (${anyBackendNamesText()})`);
    const vni = this.int(rec, 'vni', ['backend'], 0, 0xffffff);
    const why = backendFieldProblem(type, rec);
    if (why) this.fail(['backend', why.field], why.message);
    const direct = rec['directRouting'] === undefined ? undefined : rec['directRouting'] === true;
    return labBackend(type, vni, this.int(rec, 'port', ['backend'], 1, 65535), direct);
  }

  private nodes(
    value: unknown,
    lab: string,
    network: Cidr,
    subnetLen: number,
    underlay: Cidr,
    backend: AnyBackendName,
    router?: LabRouter,
  ): LabNode[] {
    const items = this.list(value, ['nodes']);
    if (items.length === 0) this.fail(['nodes'], 'must list at least one node');
    const seen = new Set<string>();
    const explicitSubnets: { cidr: Cidr; index: number }[] = [];
    const explicitIps = new Map<Ipv4, number>();
    const parsed = items.map((item, i) => {
      const path: Path = ['nodes', i];
      const rec = this.obj(item, path, ['name', 'publicIp', 'subnet', 'capture']);
      const name = this.name(this.str(rec, 'name', path, true), [...path, 'name']);
      const reserved = Object.hasOwn(RESERVED_NAMES, name) ? RESERVED_NAMES[name] : undefined;
      if (reserved) this.fail([...path, 'name'], `"${name}" is reserved for the lab's ${reserved} namespace`);
      if (seen.has(name)) this.fail([...path, 'name'], `"${name}" is a duplicate node name`);
      seen.add(name);

      const subnetText = this.str(rec, 'subnet', path, false);
      let subnet: Cidr | undefined;
      if (subnetText !== undefined) {
        subnet = this.cidr(subnetText, [...path, 'subnet']);
        if (!network.covers(subnet))
          this.fail([...path, 'subnet'], `${subnet} is not inside the pod network ${network}`);
        if (subnet.prefix > 30)
          this.fail([...path, 'subnet'], `${subnet} is too small for pods (prefix /30 or shorter)`);
        const clash = explicitSubnets.find((s) => s.cidr.overlaps(subnet!));
        if (clash) this.fail([...path, 'subnet'], `${subnet} overlaps nodes[${clash.index}].subnet ${clash.cidr}`);
        explicitSubnets.push({ cidr: subnet, index: i });
      }

      const ipText = this.str(rec, 'publicIp', path, false);
      let publicIp: Ipv4 | undefined;
      if (ipText !== undefined) {
        publicIp = this.ip(ipText, [...path, 'publicIp']);
        const off = offUnderlay(publicIp, underlay, router);
        if (off) this.fail([...path, 'publicIp'], `${ipText} ${off}`);
        const other = explicitIps.get(publicIp);
        if (other !== undefined) this.fail([...path, 'publicIp'], `${ipText} is already nodes[${other}].publicIp`);
        explicitIps.set(publicIp, i);
      }
      return { name, subnet, publicIp, capture: this.capture(rec['capture'], [...path, 'capture']) };
    });

    const takenSubnets = explicitSubnets.map((s) => s.cidr);
    const takenIps = new Set(explicitIps.keys());
    return parsed.map((n, i) => {
      let subnet = n.subnet;
      if (!subnet) {
        subnet = nextFreeSubnet(network, subnetLen, takenSubnets);
        if (!subnet)
          this.fail(['nodes', i, 'name'], `gets no subnet: the pod network ${network} has no free /${subnetLen} left`);
        takenSubnets.push(subnet);
      }
      let publicIp = n.publicIp;
      if (publicIp === undefined) {
        publicIp = nextFreeHost(underlay, takenIps);
        if (publicIp === undefined)
          this.fail(['nodes', i, 'name'], `gets no publicIp: the underlay ${underlay} is full`);
        takenIps.add(publicIp);
      }
      return {
        name: n.name,
        index: i,
        publicIp: formatIpv4(publicIp),
        subnet: subnet.toString(),
        gateway: formatIpv4(gatewayOf(subnet)),
        vtepMac: vtepMac(i),
        capture: n.capture,
        netns: nodeNetns(lab, n.name),
        underlayPort: underlayPortName(n.name, i),
        tunDevice: tunDeviceName(backend),
      };
    });
  }

  private capture(value: unknown, path: Path): CapturePoint[] {
    if (value === undefined || value === null || value === false) return [];
    if (value === true) return ['inner', 'outer'];
    const list: unknown = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
    if (!Array.isArray(list)) this.fail(path, 'must be true, or a list of inner/outer');
    return (list as unknown[]).map((p, i) => {
      if (p !== 'inner' && p !== 'outer')
        this.fail(
          typeof value === 'string' ? path : [...path, i],
          `"${String(p)}" is not a capture point (inner or outer)`,
        );
      return p;
    });
  }

  private pods(value: unknown, lab: string, nodes: LabNode[]): LabPod[] {
    const items = value === undefined || value === null ? [] : this.list(value, ['pods']);
    const nodeNames = new Map(nodes.map((n) => [n.name, n]));
    const load = new Map(nodes.map((n) => [n.name, 0]));
    const owner = new Map<string, string>(); // pod name -> path text of its definition
    const pods: LabPod[] = [];
    const usedVeths = new Map(nodes.map((n) => [n.name, new Set<string>()]));

    items.forEach((item, i) => {
      const path: Path = ['pods', i];
      const rec = this.obj(item, path, ['name', 'node', 'count', 'replicas', 'containers']);
      const template = this.name(this.str(rec, 'name', path, true), [...path, 'name']);
      const nodeName = this.str(rec, 'node', path, false);
      if (nodeName !== undefined && !nodeNames.has(nodeName))
        this.fail([...path, 'node'], `"${nodeName}" is not a node of this lab`);
      if (rec['count'] !== undefined && rec['replicas'] !== undefined)
        this.fail([...path, 'replicas'], 'and count mean the same thing: give one');
      const countKey = rec['replicas'] !== undefined ? 'replicas' : 'count';
      const count = this.int(rec, countKey, path, 1, 10_000);
      const containers = this.containers(rec['containers'], [...path, 'containers']);

      const names: string[] = [];
      if (count === undefined) names.push(template);
      else {
        const hash = templateHash(lab, template, JSON.stringify(containers));
        for (let r = 0; r < count; r++) names.push(replicaName(lab, template, hash, r));
      }
      for (const podName of names) {
        const prev = owner.get(podName);
        if (prev !== undefined) this.fail([...path, 'name'], `"${podName}" is a duplicate pod name (also ${prev})`);
        owner.set(podName, pathText(path));
        const node = nodeName ?? leastLoaded(nodes, load);
        const nth = load.get(node)!;
        const nodeInfo = nodeNames.get(node)!;
        const subnet = Cidr.parse(nodeInfo.subnet);
        const ip = podAddress(subnet, nth);
        if (ip === undefined) {
          this.fail(
            count === undefined ? [...path, 'node'] : [...path, countKey],
            `puts more pods on ${node} than its subnet ${subnet} holds (${podCapacity(subnet)})`,
          );
        }
        load.set(node, nth + 1);
        const used = usedVeths.get(node)!;
        let attempt = 0;
        let veth = hostVethName(podName);
        while (used.has(veth)) veth = hostVethName(podName, ++attempt);
        used.add(veth);
        pods.push({
          name: podName,
          template,
          node,
          ip: formatIpv4(ip),
          netns: podNetns(lab, podName),
          hostVeth: veth,
          containers,
          pinned: nodeName !== undefined,
          replicas: count,
        });
        this.podPaths.set(podName, path);
      }
    });
    return pods;
  }

  private containers(value: unknown, path: Path): LabContainer[] {
    const items = this.list(value, path);
    if (items.length === 0) this.fail(path, 'must list at least one container');
    const seen = new Set<string>();
    return items.map((item, i) => {
      const cpath: Path = [...path, i];
      const rec = this.obj(item, cpath, ['name', 'program', 'command', 'args']);
      const name = this.name(this.str(rec, 'name', cpath, true), [...cpath, 'name']);
      if (seen.has(name)) this.fail([...cpath, 'name'], `"${name}" is a duplicate container name in this pod`);
      seen.add(name);
      const hasProgram = rec['program'] !== undefined;
      const hasCommand = rec['command'] !== undefined;
      if (hasProgram === hasCommand)
        this.fail(hasProgram ? [...cpath, 'command'] : cpath, 'needs exactly one of program or command');
      const args = rec['args'] === undefined ? [] : this.words(rec['args'], [...cpath, 'args'], false);
      if (hasProgram) {
        const argv = [...this.words(rec['program'], [...cpath, 'program'], false), ...args];
        if (!(BUILTIN_PROGRAMS as readonly string[]).includes(argv[0] ?? '')) {
          this.fail(
            [...cpath, 'program'],
            `"${argv[0] ?? ''}" is not a built-in program (${BUILTIN_PROGRAMS.join(', ')}); use command for host commands`,
          );
        }
        return { name, kind: 'program' as const, argv };
      }
      const command = rec['command'];
      const argv =
        typeof command === 'string' ? ['/bin/sh', '-c', command] : this.words(command, [...cpath, 'command'], true);
      return { name, kind: 'command' as const, argv: [...argv, ...args] };
    });
  }

  private checkUniqueNetns(lab: string, nodes: LabNode[], pods: LabPod[]): void {
    const seen = new Map<string, string>();
    const claim = (ns: string, what: string, path: Path): void => {
      const prev = seen.get(ns);
      if (prev) this.fail(path, `would share the namespace name ${ns} with ${prev}; rename one of them`);
      seen.set(ns, what);
    };
    claim(underlayNetns(lab), 'the underlay', []);
    claim(routerNetns(lab), 'the router', []);
    nodes.forEach((n, i) => claim(n.netns, `node ${n.name}`, ['nodes', i, 'name']));
    for (const p of pods) claim(p.netns, `pod ${p.name}`, [...(this.podPaths.get(p.name) ?? ['pods']), 'name']);
    for (const n of nodes) {
      if (n.underlayPort.length > IFNAME_MAX)
        this.fail(['nodes', n.index, 'name'], 'makes an interface name that is too long');
    }
  }
}
