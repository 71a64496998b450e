// The library from Node's own test runner (`node --test node-test/`, no vitest, no TypeScript): one
// live lab for the file (before/after), a pod fetches the web pod's page across the overlay, a
// partition between the nodes stops it and heal brings it back. Plain JavaScript, so the lab is
// removed in `after` (and by Symbol.asyncDispose, which `await using` calls in TypeScript).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Lab, TimeoutError } from 'flannelette';

const here = path.dirname(fileURLToPath(import.meta.url));
const name = `nt${Math.random()
  .toString(36)
  .slice(2, 7)
  .replace(/[^a-z0-9]/g, 'x')}`;
let lab;

before(async () => {
  lab = await Lab.up(path.join(here, '..', 'topology.yaml'), { name });
});
after(async () => {
  await lab?.[Symbol.asyncDispose]();
});

const fetchWeb = async (ip) => lab.exec('client', ['curl', '-sS', '-m', '2', `http://${ip}/`]);

test('a pod fetches another pod across the overlay', async () => {
  const web = await lab.get('pod', 'web');
  const r = await fetchWeb(web.status.podIP);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Hello from web \\(${web.status.podIP.replaceAll('.', '\\.')}\\)`));
});

test('a partition stops the traffic and heal restores it', async () => {
  const ip = (await lab.get('pod', 'web')).status.podIP;
  await lab.partition('node1', 'node2');
  assert.notEqual((await fetchWeb(ip)).exitCode, 0);
  await lab.heal('node1', 'node2');
  await lab.waitFor(async () => (await fetchWeb(ip)).exitCode === 0, { timeoutMs: 10_000 });
  await assert.rejects(
    lab.waitFor(() => false, { timeoutMs: 200 }),
    TimeoutError,
  );
});
