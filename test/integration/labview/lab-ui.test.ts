/// <reference lib="dom" />
// The lab's pictures against a real two-node lab (root): `lab graph` as SVG and HTML, and `lab ui`
// opened in Debian's Chromium (headless, through playwright-core, no browser download): nodes and
// pods drawn with their IPs, link rates moving while a pod pings, a partition shown within 2 s,
// a click on a node showing its routes, the packets panel listing ICMP at a capture point.
// Saves the page as docs/lab-ui.png (the README shows it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin/flannelette.js');
const CHROMIUM = '/usr/bin/chromium';
const built = fs.existsSync(path.join(ROOT, 'dist/src/labview/web/app.js'));
const skip =
  requireRootOrSkip('lab ui') ||
  requireOrSkip(built, 'lab ui: build first (npm run build)') ||
  requireOrSkip(fs.existsSync(CHROMIUM), 'lab ui: needs Chromium (apt-get install chromium)');

const lab = `ui${Math.random()
  .toString(36)
  .slice(2, 8)
  .replace(/[^a-z0-9]/g, 'x')}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-ui-test-'));
const children = new Set<ChildProcess>();

function cli(args: string[], timeoutMs = 60_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: tmp });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? 128, out, err });
    });
  });
}

describe.skipIf(skip)('lab graph and lab ui', () => {
  let ui: ChildProcess;
  let url = '';
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const up = await cli(['lab', 'up', '--static', path.join(ROOT, 'examples/two-nodes.yaml'), '--name', lab]);
    expect(up.code, up.err).toBe(0);
    ui = spawn(process.execPath, [CLI, 'lab', 'ui', '--name', lab, '--port', '0'], { cwd: tmp });
    children.add(ui);
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`lab ui did not start: ${out}`)), 20_000);
      ui.stdout!.on('data', (d) => {
        out += String(d);
        const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1300, height: 720 } });
  });

  afterAll(async () => {
    await browser?.close();
    for (const c of children) c.kill('SIGKILL');
    await cli(['lab', 'down', '--name', lab]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('lab graph: SVG with the switch, nodes, pods and the link; HTML around it; a bad -o is one line', async () => {
    const svg = await cli(['lab', 'graph', '--name', lab]);
    expect(svg.code).toBe(0);
    expect(svg.out).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.out).toContain('underlay switch br0 · 192.168.1.0/24');
    for (const s of [
      '192.168.1.2 · 10.244.1.0/24',
      '192.168.1.3 · 10.244.2.0/24',
      'TUN flannel.1',
      '10.244.1.3',
      '10.244.2.2',
      'data-link="node1|node2"',
    ])
      expect(svg.out).toContain(s);
    const file = path.join(tmp, 'lab.html');
    expect((await cli(['lab', 'graph', '--name', lab, '-o', file])).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^<!doctype html>[\s\S]*<svg [\s\S]*<\/svg>[\s\S]*<\/html>\n$/);
    const bad = await cli(['lab', 'graph', '--name', lab, '-o', path.join(tmp, 'x.png')]);
    expect(bad.code).toBe(2);
    expect(bad.err.trim()).toMatch(/^flannelette: -o .*x\.png: give a \.svg or \.html file, or -$/);
  });

  it('the page draws nodes and pods with IPs; rates move while a pod pings; a partition shows within 2 s', async () => {
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('live'), undefined, {
      timeout: 10_000,
    });
    const node1 = page.locator('[data-node="node1"]');
    await expect.poll(() => node1.textContent()).toContain('192.168.1.2 · 10.244.1.0/24');
    expect(await page.locator('[data-node="node2"]').textContent()).toContain('192.168.1.3 · 10.244.2.0/24');
    expect(await page.locator('[data-pod="busybox"]').textContent()).toContain('10.244.1.3');
    expect(await page.locator('[data-node="node1"] [data-field=health]').textContent()).toBe('Ready');
    const rate = page.locator('[data-link="node1|node2"] [data-field=rate-ab]');

    const ping = cli(['lab', 'exec', '--name', lab, 'busybox', '--', 'ping', '-c', '40', '-i', '0.1', '10.244.2.2']);
    await page.waitForFunction(
      () =>
        /^[1-9][\d.]* pkt\/s/.test(
          document.querySelector('[data-link="node1|node2"] [data-field=rate-ab]')?.textContent ?? '',
        ),
      undefined,
      { timeout: 10_000 },
    );
    expect(await rate.textContent()).toMatch(/^\d[\d.]* pkt\/s \d[\d.]* (B|kB)\/s$/);
    // the packets panel: ICMP at node2's outer point, decoded through VXLAN
    await page.selectOption('#point', 'node2/outer');
    await page.waitForFunction(
      () => (document.querySelector('#packets-body')?.textContent ?? '').includes('ICMP echo'),
      undefined,
      { timeout: 10_000 },
    );
    const panel = (await page.locator('#packets-body').textContent())!;
    expect(panel).toContain('VXLAN VNI 1');
    expect(panel).toContain('IPv4 10.244.1.3 → 10.244.2.2');
    await page.screenshot({ path: path.join(ROOT, 'docs/lab-ui.png') });
    await ping;

    const part = await cli(['lab', 'partition', '--name', lab, 'node1', 'node2']);
    expect(part.code, part.err).toBe(0);
    const t0 = Date.now();
    await page.waitForSelector('[data-link="node1|node2"].partitioned', { timeout: 2000 });
    expect(Date.now() - t0).toBeLessThanOrEqual(2000);
    expect(await page.locator('[data-link="node1|node2"] [data-field=note]').textContent()).toMatch(/^✕ partitioned/);
    const heal = await cli(['lab', 'heal', '--name', lab, 'node1', 'node2']);
    expect(heal.code).toBe(0);
    await page.waitForSelector('[data-link="node1|node2"].ok', { timeout: 5000 });
  });

  it('a click on a node shows its routes and peers; a click on a pod shows its containers', async () => {
    await page.locator('[data-node="node1"] text.title').click();
    await page.waitForFunction(
      () => (document.querySelector('#details-body')?.textContent ?? '').includes('Routes'),
      undefined,
      { timeout: 5000 },
    );
    const details = (await page.locator('#details-body').textContent())!;
    expect(details).toContain('10.244.2.0/24');
    expect(details).toContain('via node2 192.168.1.3:8472');
    await page.locator('[data-pod="busybox"]').click();
    await page.waitForFunction(
      () => (document.querySelector('#details-body')?.textContent ?? '').includes('pod busybox'),
      undefined,
      { timeout: 5000 },
    );
    expect(await page.locator('#details-body').textContent()).toContain('10.244.1.3 on node1');
  });

  it('the page loads nothing from outside 127.0.0.1', async () => {
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('live'), undefined, {
      timeout: 10_000,
    });
    expect(requested.length).toBeGreaterThan(0);
    for (const r of requested) expect(r.startsWith(url)).toBe(true);
    expect(spawnSync('true').status).toBe(0);
  });
});
