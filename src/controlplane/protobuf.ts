// Decodes the Kubernetes protobuf request bodies kubectl's typed clients send (`kubectl create
// deployment|namespace`, …): the `k8s\0` envelope (runtime.Unknown with TypeMeta and the raw object)
// and the messages of Namespace, Deployment and Pod with the fields those commands fill, into the same
// JSON objects the JSON API takes. Field numbers are kube's generated.proto. Empty strings (which
// gogo-protobuf writes for unset non-pointer fields) and the zeros/falses of non-pointer fields are
// dropped, as kube's JSON omits them. A field
// this table does not know throws KubeApiError 415 (the client should send JSON). Pure.
import { KubeApiError } from '../util/errors.js';

type Scalar = 'string' | 'int' | 'bool' | 'time' | 'intOrString' | 'quantity' | 'skip';
type PType = Scalar | { msg: string } | { map: 'string' | 'quantity' };
/** [json name, type, repeated, inline (its fields are merged into the parent, as kube's JSON does)] */
type Field = [string, PType, boolean?, boolean?];

const S: PType = 'string';
const I: PType = 'int';
const B: PType = 'bool';
const m = (msg: string): PType => ({ msg });

const MESSAGES: Record<string, Record<number, Field>> = {
  ObjectMeta: {
    1: ['name', S],
    2: ['generateName', S],
    3: ['namespace', S],
    4: ['selfLink', S],
    5: ['uid', S],
    6: ['resourceVersion', S],
    7: ['generation', I],
    8: ['creationTimestamp', 'time'],
    9: ['deletionTimestamp', 'time'],
    10: ['deletionGracePeriodSeconds', I],
    11: ['labels', { map: 'string' }],
    12: ['annotations', { map: 'string' }],
    13: ['ownerReferences', m('OwnerReference'), true],
    14: ['finalizers', S, true],
    17: ['managedFields', 'skip'],
  },
  OwnerReference: {
    1: ['kind', S],
    3: ['name', S],
    4: ['uid', S],
    5: ['apiVersion', S],
    6: ['controller', B],
    7: ['blockOwnerDeletion', B],
  },
  LabelSelector: {
    1: ['matchLabels', { map: 'string' }],
    2: ['matchExpressions', m('LabelSelectorRequirement'), true],
  },
  LabelSelectorRequirement: { 1: ['key', S], 2: ['operator', S], 3: ['values', S, true] },
  Namespace: { 1: ['metadata', m('ObjectMeta')], 2: ['spec', m('NamespaceSpec')], 3: ['status', 'skip'] },
  NamespaceSpec: { 1: ['finalizers', S, true] },
  Deployment: { 1: ['metadata', m('ObjectMeta')], 2: ['spec', m('DeploymentSpec')], 3: ['status', 'skip'] },
  DeploymentSpec: {
    1: ['replicas', I],
    2: ['selector', m('LabelSelector')],
    3: ['template', m('PodTemplateSpec')],
    4: ['strategy', m('DeploymentStrategy')],
    5: ['minReadySeconds', I],
    6: ['revisionHistoryLimit', I],
    7: ['paused', B],
    9: ['progressDeadlineSeconds', I],
  },
  DeploymentStrategy: { 1: ['type', S], 2: ['rollingUpdate', m('RollingUpdateDeployment')] },
  RollingUpdateDeployment: { 1: ['maxUnavailable', 'intOrString'], 2: ['maxSurge', 'intOrString'] },
  Pod: { 1: ['metadata', m('ObjectMeta')], 2: ['spec', m('PodSpec')], 3: ['status', 'skip'] },
  PodTemplateSpec: { 1: ['metadata', m('ObjectMeta')], 2: ['spec', m('PodSpec')] },
  PodSpec: {
    1: ['volumes', m('Volume'), true],
    2: ['containers', m('Container'), true],
    3: ['restartPolicy', S],
    4: ['terminationGracePeriodSeconds', I],
    5: ['activeDeadlineSeconds', I],
    6: ['dnsPolicy', S],
    7: ['nodeSelector', { map: 'string' }],
    8: ['serviceAccountName', S],
    9: ['serviceAccount', S],
    10: ['nodeName', S],
    11: ['hostNetwork', B],
    12: ['hostPID', B],
    13: ['hostIPC', B],
    16: ['hostname', S],
    17: ['subdomain', S],
    19: ['schedulerName', S],
    20: ['initContainers', m('Container'), true],
    21: ['automountServiceAccountToken', B],
    24: ['priorityClassName', S],
    25: ['priority', I],
    30: ['enableServiceLinks', B],
    31: ['preemptionPolicy', S],
  },
  Container: {
    1: ['name', S],
    2: ['image', S],
    3: ['command', S, true],
    4: ['args', S, true],
    5: ['workingDir', S],
    6: ['ports', m('ContainerPort'), true],
    7: ['env', m('EnvVar'), true],
    8: ['resources', m('ResourceRequirements')],
    9: ['volumeMounts', m('VolumeMount'), true],
    10: ['livenessProbe', m('Probe')],
    11: ['readinessProbe', m('Probe')],
    13: ['terminationMessagePath', S],
    14: ['imagePullPolicy', S],
    16: ['stdin', B],
    17: ['stdinOnce', B],
    18: ['tty', B],
    20: ['terminationMessagePolicy', S],
    22: ['startupProbe', m('Probe')],
  },
  ContainerPort: { 1: ['name', S], 2: ['hostPort', I], 3: ['containerPort', I], 4: ['protocol', S], 5: ['hostIP', S] },
  EnvVar: { 1: ['name', S], 2: ['value', S] },
  ResourceRequirements: { 1: ['limits', { map: 'quantity' }], 2: ['requests', { map: 'quantity' }] },
  VolumeMount: { 1: ['name', S], 2: ['readOnly', B], 3: ['mountPath', S], 4: ['subPath', S] },
  Volume: { 1: ['name', S], 2: ['', m('VolumeSource'), false, true] },
  VolumeSource: { 2: ['emptyDir', m('EmptyDirVolumeSource')] },
  EmptyDirVolumeSource: { 1: ['medium', S], 2: ['sizeLimit', 'quantity'] },
  Probe: {
    1: ['', m('ProbeHandler'), false, true],
    2: ['initialDelaySeconds', I],
    3: ['timeoutSeconds', I],
    4: ['periodSeconds', I],
    5: ['successThreshold', I],
    6: ['failureThreshold', I],
    7: ['terminationGracePeriodSeconds', I],
  },
  ProbeHandler: {
    1: ['exec', m('ExecAction')],
    2: ['httpGet', m('HTTPGetAction')],
    3: ['tcpSocket', m('TCPSocketAction')],
  },
  ExecAction: { 1: ['command', S, true] },
  HTTPGetAction: { 1: ['path', S], 2: ['port', 'intOrString'], 3: ['host', S], 4: ['scheme', S] },
  TCPSocketAction: { 1: ['port', 'intOrString'], 2: ['host', S] },
};

const unsupported = (why: string): KubeApiError =>
  new KubeApiError(415, 'UnsupportedMediaType', `cannot decode this protobuf body (${why}); send application/json`);

interface Raw {
  no: number;
  wire: number;
  value: bigint | Buffer;
}

function readVarint(buf: Buffer, pos: { i: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos.i >= buf.length) throw unsupported('truncated varint');
    const b = buf[pos.i++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
    shift += 7n;
    if (shift > 63n) throw unsupported('varint too long');
  }
}

function fields(buf: Buffer): Raw[] {
  const out: Raw[] = [];
  const pos = { i: 0 };
  while (pos.i < buf.length) {
    const key = Number(readVarint(buf, pos));
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, value: readVarint(buf, pos) });
    else if (wire === 2) {
      const len = Number(readVarint(buf, pos));
      if (pos.i + len > buf.length) throw unsupported('truncated field');
      out.push({ no, wire, value: buf.subarray(pos.i, pos.i + len) });
      pos.i += len;
    } else if (wire === 5 || wire === 1) pos.i += wire === 5 ? 4 : 8;
    else throw unsupported(`wire type ${wire}`);
  }
  return out;
}

const asBuf = (r: Raw): Buffer => {
  if (!Buffer.isBuffer(r.value)) throw unsupported(`field ${r.no} is not length-delimited`);
  return r.value;
};
const asInt = (r: Raw): number => Number(BigInt.asIntN(64, r.value as bigint));

function scalar(t: Scalar, r: Raw): unknown {
  switch (t) {
    case 'string':
      return asBuf(r).toString('utf8');
    case 'int':
      return asInt(r);
    case 'bool':
      return r.value !== 0n;
    case 'quantity':
      return (
        fieldsByNo(asBuf(r))
          .get(1)
          ?.map((f) => asBuf(f).toString('utf8'))[0] ?? '0'
      );
    case 'time': {
      const secs = fieldsByNo(asBuf(r)).get(1)?.[0];
      const s = secs ? asInt(secs) : 0;
      return s === 0 ? undefined : new Date(s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    }
    case 'intOrString': {
      const f = fieldsByNo(asBuf(r));
      const type = f.get(1)?.[0] ? asInt(f.get(1)![0]) : 0;
      return type === 1 ? asBuf(f.get(3)![0]).toString('utf8') : f.get(2)?.[0] ? asInt(f.get(2)![0]) : 0;
    }
    case 'skip':
      return undefined;
  }
}

function fieldsByNo(buf: Buffer): Map<number, Raw[]> {
  const map = new Map<number, Raw[]>();
  for (const f of fields(buf)) map.set(f.no, [...(map.get(f.no) ?? []), f]);
  return map;
}

function decodeMessage(name: string, buf: Buffer): Record<string, unknown> {
  const table = MESSAGES[name];
  const out: Record<string, unknown> = {};
  for (const [no, raws] of fieldsByNo(buf)) {
    const f = table[no];
    if (!f) throw unsupported(`field ${no} of ${name}`);
    const [json, type, repeated, inline] = f;
    const one = (r: Raw): unknown => {
      if (typeof type === 'string') return scalar(type, r);
      if ('msg' in type) return decodeMessage(type.msg, asBuf(r));
      const entry = fieldsByNo(asBuf(r));
      const k = entry.get(1)?.[0];
      const v = entry.get(2)?.[0];
      return [k ? asBuf(k).toString('utf8') : '', v ? scalar(type.map, v) : ''];
    };
    if (typeof type === 'object' && 'map' in type) {
      out[json] = Object.fromEntries(raws.map(one) as [string, unknown][]);
    } else if (repeated) out[json] = raws.map(one);
    else {
      const v = one(raws[raws.length - 1]);
      if (inline && v && typeof v === 'object') Object.assign(out, v);
      else if (v !== undefined && v !== '' && !((v === 0 || v === false) && !POINTER_FIELDS.has(json))) out[json] = v;
    }
  }
  return out;
}

/** Fields that are pointers in kube's Go types: their 0 or false is a value, not "unset". */
const POINTER_FIELDS = new Set([
  'replicas',
  'terminationGracePeriodSeconds',
  'revisionHistoryLimit',
  'progressDeadlineSeconds',
  'activeDeadlineSeconds',
  'priority',
  'deletionGracePeriodSeconds',
  'enableServiceLinks',
  'controller',
  'blockOwnerDeletion',
  'automountServiceAccountToken',
]);

export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a `application/vnd.kubernetes.protobuf` body into the JSON object it stands for. */
export function decodeKubeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(PROTOBUF_MAGIC)) throw unsupported('no k8s protobuf envelope');
  const unknown = fieldsByNo(body.subarray(4));
  const typeMeta = unknown.get(1)?.[0] ? fieldsByNo(asBuf(unknown.get(1)![0])) : new Map<number, Raw[]>();
  const str = (f: Map<number, Raw[]>, no: number): string =>
    f.get(no)?.[0] ? asBuf(f.get(no)![0]).toString('utf8') : '';
  const apiVersion = str(typeMeta, 1);
  const kind = str(typeMeta, 2);
  if (!MESSAGES[kind] || !['Namespace', 'Deployment', 'Pod'].includes(kind))
    throw unsupported(`kind ${kind || '(none)'}`);
  const raw = unknown.get(2)?.[0];
  const obj = raw ? decodeMessage(kind, asBuf(raw)) : {};
  return { apiVersion, kind, ...obj };
}
