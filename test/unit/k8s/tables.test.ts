import { describe, expect, it } from 'vitest';
import { humanDuration } from '../../../src/k8s/age.js';
import { defaultDeployment, defaultPod } from '../../../src/k8s/defaults.js';
import { podTemplateHash, SAFE_ALPHABET } from '../../../src/k8s/names.js';
import { podStatusCells, toTable } from '../../../src/k8s/tables.js';
import type { Deployment, Pod } from '../../../src/k8s/types.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const basePod = (): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
});

describe('pod STATUS as kubectl computes it', () => {
  it('Pending, ContainerCreating, Running, CrashLoopBackOff with restarts, Terminating, Completed', () => {
    const p = basePod();
    expect(podStatusCells(p, NOW)).toEqual({ ready: '0/1', status: '', restarts: '0' });
    p.status = { phase: 'Pending' };
    expect(podStatusCells(p, NOW).status).toBe('Pending');
    p.status.containerStatuses = [
      {
        name: 'c',
        image: 'nginx',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'ContainerCreating' } },
        lastState: {},
      },
    ];
    expect(podStatusCells(p, NOW).status).toBe('ContainerCreating');
    p.status = {
      phase: 'Running',
      containerStatuses: [
        { name: 'c', image: 'nginx', imageID: '', ready: true, restartCount: 0, state: { running: {} }, lastState: {} },
      ],
    };
    expect(podStatusCells(p, NOW)).toEqual({ ready: '1/1', status: 'Running', restarts: '0' });
    p.status.containerStatuses![0] = {
      name: 'c',
      image: 'nginx',
      imageID: '',
      ready: false,
      restartCount: 3,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 1, finishedAt: '2026-01-01T00:09:30Z' } },
    };
    expect(podStatusCells(p, NOW)).toEqual({ ready: '0/1', status: 'CrashLoopBackOff', restarts: '3 (30s ago)' });
    p.metadata.deletionTimestamp = '2026-01-01T00:10:00Z';
    expect(podStatusCells(p, NOW).status).toBe('Terminating');
    const done = basePod();
    done.status = {
      phase: 'Succeeded',
      containerStatuses: [
        {
          name: 'c',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 0, reason: 'Completed' } },
          lastState: {},
        },
      ],
    };
    expect(podStatusCells(done, NOW).status).toBe('Completed');
  });

  it("pod table has kubectl's wide columns", () => {
    const t = toTable([defaultPod(basePod())], 'Pod', NOW, 'Metadata');
    expect(t.columnDefinitions.map((c) => c.name.toUpperCase())).toEqual([
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
    expect(t.rows[0].cells).toEqual(['p', '0/1', 'Pending', '0', '10m', '<none>', '<none>', '<none>', '<none>']);
  });
});

describe('ages, defaults and template hashes', () => {
  it('humanDuration matches kube', () => {
    expect([59e3, 119e3, 120e3, 150e3, 600e3, 3 * 3600e3, 3 * 3600e3 + 60e3, 50 * 3600e3].map(humanDuration)).toEqual([
      '59s',
      '119s',
      '2m',
      '2m30s',
      '10m',
      '3h',
      '3h1m',
      '2d2h',
    ]);
  });
  it('defaults a Deployment as the API server does', () => {
    const d: Deployment = defaultDeployment({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        selector: {},
        template: { spec: { containers: [{ name: 'c', image: 'nginx:1.15.4', ports: [{ containerPort: 80 }] }] } },
      },
    });
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    });
    expect([d.spec.revisionHistoryLimit, d.spec.progressDeadlineSeconds]).toEqual([10, 600]);
    const s = d.spec.template.spec;
    expect([s.restartPolicy, s.terminationGracePeriodSeconds, s.dnsPolicy]).toEqual(['Always', 30, 'ClusterFirst']);
    expect(s.containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(s.containers[0].ports![0].protocol).toBe('TCP');
    const p = defaultPod(basePod());
    expect(p.spec.containers[0].imagePullPolicy).toBe('Always');
  });
  it('template hashes are stable, differ by template, and use the safe alphabet', () => {
    const a = podTemplateHash({ spec: { containers: [{ name: 'c', image: 'a' }] } });
    expect(podTemplateHash({ spec: { containers: [{ image: 'a', name: 'c' }] } })).toBe(a);
    expect(podTemplateHash({ spec: { containers: [{ name: 'c', image: 'b' }] } })).not.toBe(a);
    expect([...a].every((ch) => SAFE_ALPHABET.includes(ch))).toBe(true);
  });
});
