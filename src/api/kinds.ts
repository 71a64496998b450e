// The typed objects `lab.get()` returns, by the names kubectl accepts for them. Kinds that another
// part of the lab serves (Services, Endpoints, NetworkPolicies…) come back as `KubeObject` with
// their JSON as the server sent it. Types only.
import type { Deployment, Event, KubeObject, Namespace, Node, Pod, ReplicaSet } from '../k8s/types.js';

export type { Deployment, Event, KubeObject, Namespace, Node as NodeObject, Pod, ReplicaSet };

/** `lab.get(kind)`'s result type for each kind name. */
export interface KindMap {
  pods: Pod;
  pod: Pod;
  po: Pod;
  Pod: Pod;
  nodes: Node;
  node: Node;
  no: Node;
  Node: Node;
  deployments: Deployment;
  deployment: Deployment;
  deploy: Deployment;
  Deployment: Deployment;
  replicasets: ReplicaSet;
  replicaset: ReplicaSet;
  rs: ReplicaSet;
  ReplicaSet: ReplicaSet;
  namespaces: Namespace;
  namespace: Namespace;
  ns: Namespace;
  Namespace: Namespace;
  events: Event;
  event: Event;
  ev: Event;
  Event: Event;
}

/** The object type of a kind name (`KubeObject` for a kind not in KindMap). */
export type ObjectOf<K extends string> = K extends keyof KindMap ? KindMap[K] : KubeObject;
