// The library from Jest (ESM, no transform: `node --experimental-vm-modules node_modules/jest/bin/jest.js`,
// i.e. `npm run test:jest`): one live lab for the file, a pod fetches the web pod's page across the
// overlay, 100% loss on the link stops it and clearing the impairment brings it back; the lab's
// typed errors keep their names. The lab is removed in afterAll.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { Lab, TimeoutError } from 'flannelette';

const here = path.dirname(fileURLToPath(import.meta.url));
const name = `jt${Math.random()
  .toString(36)
  .slice(2, 7)
  .replace(/[^a-z0-9]/g, 'x')}`;
let lab;

beforeAll(async () => {
  lab = await Lab.up(path.join(here, '..', 'topology.yaml'), { name });
}, 180_000);
afterAll(async () => {
  await lab?.[Symbol.asyncDispose]();
}, 120_000);

const fetchWeb = async (ip) => lab.exec('client', ['curl', '-sS', '-m', '2', `http://${ip}/`]);

test('a pod fetches another pod across the overlay', async () => {
  const web = await lab.get('pod', 'web');
  const r = await fetchWeb(web.status.podIP);
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain(`Hello from web (${web.status.podIP})`);
});

test('a partition stops the traffic, heal restores it, and a wait that cannot succeed is a TimeoutError', async () => {
  const ip = (await lab.get('pod', 'web')).status.podIP;
  await lab.partition('node1', 'node2');
  expect((await fetchWeb(ip)).exitCode).not.toBe(0);
  await lab.heal('node1', 'node2');
  await lab.waitFor(async () => (await fetchWeb(ip)).exitCode === 0, { timeoutMs: 10_000 });
  const err = await lab.waitFor(() => false, { timeoutMs: 200 }).catch((e) => e);
  expect(err).toBeInstanceOf(TimeoutError);
  expect(err.name).toBe('TimeoutError');
});
