import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCriLine, LineWriter } from '../../../src/kubelet/cri-log.js';
import {
  containerArgv,
  knownImages,
  parseImageRef,
  resolveImage,
  type HostFacts,
} from '../../../src/kubelet/images.js';
import { HostLocalIpam } from '../../../src/kubelet/ipam.js';
import { parseGoDuration, parseGoFlags } from '../../../src/kubelet/programs/goflags.js';
import { expandVars } from '../../../src/kubelet/runtime.js';
import { checkKubeletConfig } from '../../../src/kubelet/config.js';

const host: HostFacts = {
  nginx: '/usr/sbin/nginx',
  busybox: '/usr/bin/busybox',
  curl: '/usr/bin/curl',
  builtin: ['node', 'main.js'],
};

describe('image mapping', () => {
  it('parses references with registry, library/ prefix, tag and digest', () => {
    expect(parseImageRef('nginx')).toEqual({ name: 'nginx', tag: 'latest' });
    expect(parseImageRef('docker.io/library/nginx:1.25@sha256:abc')).toEqual({ name: 'nginx', tag: '1.25' });
    expect(parseImageRef('registry.k8s.io/e2e-test-images/agnhost:2.52')).toEqual({
      name: 'registry.k8s.io/e2e-test-images/agnhost',
      tag: '2.52',
    });
    expect(parseImageRef('localhost:5000/x')).toEqual({ name: 'localhost:5000/x', tag: 'latest' });
  });

  it('command replaces ENTRYPOINT, args replace CMD', () => {
    const curl = resolveImage('curlimages/curl', host)!;
    expect(containerArgv(curl, undefined, ['-s', 'http://x'])).toEqual(['curl', '-s', 'http://x']);
    expect(containerArgv(curl, ['sleep', '10'])).toEqual(['sleep', '10']);
    const nginx = resolveImage('nginx:alpine', host)!;
    expect(containerArgv(nginx)).toEqual(['/usr/sbin/nginx', '-g', 'daemon off;']);
    const agn = resolveImage('registry.k8s.io/e2e-test-images/agnhost:2.40', host)!;
    expect(containerArgv(agn)).toEqual(['/agnhost', 'pause']);
    expect(containerArgv(agn, undefined, ['netexec'])).toEqual(['/agnhost', 'netexec']);
    expect(containerArgv(resolveImage('busybox', host)!)).toEqual(['sh']);
  });

  it('busyboxplus:curl adds curl; nginx without nginx is the stand-in with a warning; unknown is undefined', () => {
    expect(resolveImage('radial/busyboxplus:curl', host)!.binLinks['curl']).toBe('/usr/bin/curl');
    expect(resolveImage('radial/busyboxplus:latest', host)!.binLinks['curl']).toBeUndefined();
    const standin = resolveImage('nginx', { ...host, nginx: undefined })!;
    expect(standin.warning).toMatch(/not installed/);
    expect(containerArgv(standin)).toEqual(['node', 'main.js', 'nginx-standin']);
    expect(resolveImage('quay.io/nope/nothing:1', host)).toBeUndefined();
    expect(resolveImage('mine/tool:3', host, { 'mine/tool': ['/bin/echo', 'x'] })!.entrypoint).toEqual([
      '/bin/echo',
      'x',
    ]);
    expect(knownImages({ 'mine/tool': ['x'] })).toContain('mine/tool');
  });
});

describe('host-local IPAM', () => {
  it('hands out addresses round-robin, skips the gateway, frees, and refuses when full', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-ipam-'));
    try {
      const ipam = new HostLocalIpam(dir, '10.244.1.0/29', '10.244.1.1');
      expect(ipam.allocate('a')).toBe('10.244.1.2');
      expect(ipam.allocate('a')).toBe('10.244.1.2');
      expect(ipam.allocate('b')).toBe('10.244.1.3');
      expect(ipam.release('a')).toEqual(['10.244.1.2']);
      expect(ipam.allocate('c')).toBe('10.244.1.4');
      // state survives a new instance (a kubelet restart)
      const again = new HostLocalIpam(dir, '10.244.1.0/29', '10.244.1.1');
      expect(again.addressOf('c')).toBe('10.244.1.4');
      expect(again.allocate('d')).toBe('10.244.1.5');
      expect(again.allocate('e')).toBe('10.244.1.6');
      expect(again.allocate('f')).toBe('10.244.1.2');
      expect(() => again.allocate('g')).toThrow(expect.objectContaining({ code: 'ECAPACITY' }) as Error);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('small parsers', () => {
  it('Go flags and durations', () => {
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('500ms')).toBe(500);
    expect(() => parseGoDuration('5')).toThrow();
    const f = parseGoFlags(['--tcp', '--port=80', '-udp=false', 'x'], {
      tcp: { kind: 'bool', default: false },
      udp: { kind: 'bool', default: true },
      port: { kind: 'int', default: 1 },
    });
    expect(f).toEqual({ values: { tcp: true, udp: false, port: 80 }, args: ['x'] });
    expect(() => parseGoFlags(['--nope'], {})).toThrow(/unknown flag: --nope/);
  });

  it('CRI log lines round-trip, long lines become partial entries', () => {
    const lines: string[] = [];
    const w = new LineWriter(
      'stdout',
      (l) => lines.push(l),
      () => new Date('2026-01-01T00:00:00.123Z'),
      4,
    );
    w.write('ab\ncdefgh');
    w.end();
    expect(lines).toEqual([
      '2026-01-01T00:00:00.123000000Z stdout F ab\n',
      '2026-01-01T00:00:00.123000000Z stdout P cdef\n',
      '2026-01-01T00:00:00.123000000Z stdout P gh\n',
    ]);
    expect(parseCriLine(lines[0].trimEnd())).toEqual({
      time: '2026-01-01T00:00:00.123000000Z',
      stream: 'stdout',
      partial: false,
      text: 'ab',
    });
    expect(parseCriLine('garbage')).toBeUndefined();
  });

  it('$(VAR) expansion and config checks', () => {
    expect(expandVars('$(A)-$(B)-$$(A)', { A: '1' })).toBe('1-$(B)-$(A)');
    expect(() => checkKubeletConfig({ nodeName: 'n' }, 'k.json')).toThrow(/k\.json: field "lab"/);
  });
});

describe('lifecycle pieces', () => {
  it('restart back-off: at once, then base doubling to the cap, reset after 2×cap idle', async () => {
    const { RestartBackoff } = await import('../../../src/kubelet/backoff.js');
    const b = new RestartBackoff(10_000, 40_000);
    expect(b.remaining('c', 0)).toBe(0);
    b.next('c', 0);
    expect(b.remaining('c', 3000)).toBe(7000);
    b.next('c', 10_000);
    expect(b.delay('c')).toBe(20_000);
    b.next('c', 30_000);
    b.next('c', 70_000);
    expect(b.delay('c')).toBe(40_000);
    b.next('c', 70_000 + 80_001);
    expect(b.delay('c')).toBe(10_000);
  });

  it('pod phase as kubelet decides it', async () => {
    const { podPhase } = await import('../../../src/kubelet/pod-status.js');
    const v = (x: object) => ({
      name: 'c',
      image: 'i',
      imageID: '',
      restartCount: 0,
      ready: false,
      everRan: true,
      ...x,
    });
    const ok = { exitCode: 0, finishedAt: 't' };
    const bad = { exitCode: 1, finishedAt: 't' };
    expect(podPhase('Always', [v({ everRan: false, waiting: { reason: 'ContainerCreating' } })])).toBe('Pending');
    expect(podPhase('Always', [v({ terminated: bad, waiting: { reason: 'CrashLoopBackOff' } })])).toBe('Running');
    expect(podPhase('Never', [v({ terminated: ok }), v({ terminated: ok })])).toBe('Succeeded');
    expect(podPhase('Never', [v({ terminated: ok }), v({ terminated: bad })])).toBe('Failed');
    expect(podPhase('OnFailure', [v({ terminated: ok })])).toBe('Succeeded');
    expect(podPhase('Never', [v({ running: { startedAt: 't' } }), v({ terminated: bad })])).toBe('Running');
  });

  it('renders CRI logs with tailLines, timestamps and sinceSeconds', async () => {
    const { renderLog } = await import('../../../src/kubelet/logs.js');
    const text = [
      '2026-01-01T00:00:01.000000000Z stdout F one',
      '2026-01-01T00:00:02.000000000Z stderr P tw',
      '2026-01-01T00:00:02.100000000Z stderr F o',
      '2026-01-01T00:00:03.000000000Z stdout F three',
      '',
    ].join('\n');
    expect(renderLog(text, {})).toBe('one\ntwo\nthree\n');
    expect(renderLog(text, { tailLines: 2 })).toBe('two\nthree\n');
    expect(renderLog(text, { tailLines: 0 })).toBe('');
    expect(renderLog(text, { tailLines: 1, timestamps: true })).toBe('2026-01-01T00:00:03.000000000Z three\n');
    expect(renderLog(text, { sinceSeconds: 1 }, Date.parse('2026-01-01T00:00:03.500Z'))).toBe('three\n');
  });
});
