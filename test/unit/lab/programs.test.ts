import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { greeting, httpGet, parseGreeting, plainAddress, runProgram } from '../../../src/lab/programs.js';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('built-in container programs', () => {
  it('greeting round-trips and mapped addresses are plain', () => {
    const text = greeting('nginx-abc-12345', '10.244.2.2', '10.244.1.3');
    expect(text).toBe('Hello from nginx-abc-12345 (10.244.2.2); you are 10.244.1.3');
    expect(parseGreeting(`${text}\n`)).toEqual({ pod: 'nginx-abc-12345', ip: '10.244.2.2', client: '10.244.1.3' });
    expect(parseGreeting('nope')).toBeUndefined();
    expect(plainAddress('::ffff:10.244.1.3')).toBe('10.244.1.3');
    expect(plainAddress('::1')).toBe('::1');
  });

  it('http answers with its pod name and IP and the client address, on loopback', async () => {
    const port = await freePort();
    const lines: string[] = [];
    void runProgram('http', ['--port', String(port)], {
      out: (l) => lines.push(l),
      env: { POD_NAME: 'web-1', POD_IP: '10.244.1.2' },
    });
    let reply: { status: number; body: string } | undefined;
    for (let i = 0; i < 50 && !reply; i++) {
      reply = await httpGet(`http://127.0.0.1:${port}/`, 1000).catch(() => undefined);
      if (!reply) await new Promise((r) => setTimeout(r, 20));
    }
    expect(reply!.status).toBe(200);
    expect(parseGreeting(reply!.body)).toEqual({ pod: 'web-1', ip: '10.244.1.2', client: '127.0.0.1' });
    expect(lines.some((l) => l.includes('GET / from 127.0.0.1'))).toBe(true);
    const fetched: string[] = [];
    expect(await runProgram('fetch', [`http://127.0.0.1:${port}/`], { out: (l) => fetched.push(l), env: {} })).toBe(0);
    expect(fetched[0]).toMatch(/^Hello from web-1/);
  });

  it('echo answers TCP', async () => {
    const port = await freePort();
    void runProgram('echo', ['--port', String(port)], { out: () => undefined, env: {} });
    const echoed = await new Promise<string>((resolve, reject) => {
      const tryOnce = (n: number): void => {
        const s = net.connect(port, '127.0.0.1');
        s.on('connect', () => s.write('ping'));
        s.on('data', (d) => {
          resolve(String(d));
          s.destroy();
        });
        s.on('error', () => (n > 0 ? setTimeout(() => tryOnce(n - 1), 20) : reject(new Error('no echo'))));
      };
      tryOnce(50);
    });
    expect(echoed).toBe('ping');
  });

  it('fetch fails cleanly when nothing listens; bad arguments are ConfigErrors', async () => {
    const port = await freePort();
    const out: string[] = [];
    expect(
      await runProgram('fetch', [`http://127.0.0.1:${port}/`, '--timeout', '500'], {
        out: (l) => out.push(l),
        env: {},
      }),
    ).toBe(1);
    expect(out[0]).toMatch(/ECONNREFUSED/);
    await expect(runProgram('nginx', [])).rejects.toMatchObject({ name: 'ConfigError' });
    await expect(runProgram('http', ['--port', '99999'], { out: () => undefined, env: {} })).rejects.toMatchObject({
      name: 'ConfigError',
    });
    await expect(runProgram('sleep', ['soon'], { out: () => undefined, env: {} })).rejects.toMatchObject({
      name: 'ConfigError',
    });
    expect(await runProgram('sleep', ['0'], { out: () => undefined, env: {} })).toBe(0);
  });
});
