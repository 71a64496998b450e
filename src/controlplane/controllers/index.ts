// Starts and stops the control plane's controllers (scheduler, ReplicaSet, Deployment, garbage
// collector, node lifecycle, namespace), each a level-triggered reconcile loop (context.ts `Loop`) run
// after changes to what it watches and on a resync period, on the injected clock.
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { ApiDelete } from '../api-delete.js';
import type { ApiOps } from '../api-ops.js';
import { Loop, R, type ControllerContext } from './context.js';
import { DeploymentController } from './deployment.js';
import { EndpointsController } from './endpoints.js';
import { EndpointSliceController } from './endpointslice.js';
import { GarbageCollector } from './gc.js';
import { heartbeatFilter, signatureMemo } from './heartbeat-filter.js';
import { NamespaceController } from './namespace.js';
import { NodeLifecycleController, NODE_EVICTION_MS, NODE_GRACE_MS } from './node-lifecycle.js';
import { ReplicaSetController } from './replicaset.js';
import { Scheduler } from './scheduler.js';
import { ServiceLoadBalancerController, type LoadBalancerPool } from './service-lb.js';

export interface ControllerOptions {
  ops: ApiOps;
  deleter: ApiDelete;
  logger: Logger;
  clock: Clock;
  now: () => number;
  nodeGraceMs?: number;
  nodeEvictionMs?: number;
  /** Changes within this many ms are reconciled in one run (default 25; 0 for virtual-time tests). */
  coalesceMs?: number;
  /** Events older than this are deleted (default 1 h, kube's --event-ttl). */
  eventTtlMs?: number;
  /** Where LoadBalancer Services get their addresses (none: they stay <pending>). */
  loadBalancerPool?: LoadBalancerPool;
}

export interface Controllers {
  stop(): void;
}

export function startControllers(o: ControllerOptions): Controllers {
  const ctx: ControllerContext = {
    ops: o.ops,
    deleter: o.deleter,
    store: o.ops.store,
    clock: o.clock,
    now: o.now,
    logger: o.logger,
  };
  const scheduler = new Scheduler(ctx);
  const rs = new ReplicaSetController(ctx);
  const deploy = new DeploymentController(ctx);
  const gc = new GarbageCollector(ctx, o.eventTtlMs ?? 3_600_000);
  const nodes = new NodeLifecycleController(ctx, o.nodeGraceMs ?? NODE_GRACE_MS, o.nodeEvictionMs ?? NODE_EVICTION_MS);
  const ns = new NamespaceController(ctx);
  const co = o.coalesceMs ?? 25;
  const signature = signatureMemo();
  const endpoints = new EndpointsController(ctx);
  const slices = new EndpointSliceController(ctx);
  const lb = new ServiceLoadBalancerController(ctx, o.loadBalancerPool);
  const loops = [
    new Loop(ctx, 'scheduler', () => scheduler.reconcile(), [R.pods, R.nodes], 5_000, co, heartbeatFilter(signature)),
    new Loop(ctx, 'replicaset', () => rs.reconcile(), [R.pods, R.replicasets], 5_000, co),
    new Loop(ctx, 'deployment', () => deploy.reconcile(), [R.deployments, R.replicasets], 5_000, co),
    new Loop(
      ctx,
      'garbage-collector',
      () => gc.reconcile(),
      [R.pods, R.replicasets, R.deployments, R.nodes],
      10_000,
      co * 4,
      heartbeatFilter(signature),
    ),
    new Loop(ctx, 'node-lifecycle', () => nodes.reconcile(), [R.nodes], 1_000, co, heartbeatFilter(signature)),
    new Loop(ctx, 'endpoints', () => endpoints.reconcile(), [R.services, R.pods, R.endpoints], 5_000, co),
    new Loop(ctx, 'endpointslice', () => slices.reconcile(), [R.services, R.pods, R.endpointslices], 5_000, co),
    new Loop(ctx, 'service-lb', () => lb.reconcile(), [R.services], 5_000, co),
    new Loop(ctx, 'namespace', () => ns.reconcile(), [R.namespaces, R.pods, R.deployments, R.replicasets], 5_000, co),
  ].map((l) => l.start());
  return { stop: () => loops.forEach((l) => l.stop()) };
}
