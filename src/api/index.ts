// flannelette as a library for test authors: `import { Lab, Node } from 'flannelette'`.
// `Lab` drives a live lab (control plane, node agents, kubelets, pods in network namespaces) as the
// `flannelette lab` verbs do; `Node` runs or attaches to one node agent. Both are AsyncDisposable
// (`await using`; Node.js 20.4+ defines Symbol.asyncDispose, which TypeScript's `using` needs).
// Errors are the project's typed errors below, with stable `name` and `code`. docs/api.md is the
// reference. This module only re-exports; nothing in src/ imports it.
export { Lab, LabNode } from './lab.js';
export type {
  AttachOptions,
  AttachResult,
  CheckReport,
  ExecOptions,
  ExecResult,
  LabUpOptions,
  Manifests,
  WaitOptions,
} from './lab.js';
export { Node, nodeArgs } from './node.js';
export type { NodePeer, NodeStartOptions } from './node.js';
export { AgentClient, impairFieldsOf } from './agent-client.js';
export type {
  ImpairSpec,
  ImpairmentsReply,
  RouteReply,
  StatsReply,
  StatusReply,
  TraceQuery,
  TraceReply,
} from './agent-client.js';
export { Capture } from './capture.js';
export type { CaptureOptions, CapturePoint, CaptureResult } from './capture.js';
export { decodePacket } from './packets.js';
export type { DecodedIpv4, DecodedOuter, DecodedPacket, DecodedTransport } from './packets.js';
export type { WaitCondition } from './conditions.js';
export type {
  Deployment,
  Event,
  KindMap,
  KubeObject,
  Namespace,
  NodeObject,
  ObjectOf,
  Pod,
  ReplicaSet,
} from './kinds.js';
export {
  AddressError,
  CapacityError,
  ConfigError,
  DeviceError,
  FlanError,
  KubeApiError,
  PermissionError,
  StoppedError,
  TimeoutError,
} from '../util/errors.js';
export { RpcError } from '../util/rpc.js';
