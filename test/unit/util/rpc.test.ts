import { afterAll, afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rpcCall, rpcOpenStream, startRpcServer, StreamReply, type RpcServer } from '../../../src/util/rpc.js';
import { ConfigError } from '../../../src/util/errors.js';

describe('control socket rpc', () => {
  let server: RpcServer | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-rpc-'));
  const sock = path.join(dir, 'n.sock');
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('answers a call, reports remote errors by name, and refuses unknown methods', async () => {
    server = await startRpcServer(sock, {
      echo: (p) => ({ got: p }),
      fail: () => {
        throw new ConfigError('bad thing');
      },
    });
    expect((fs.statSync(sock).mode & 0o777).toString(8)).toBe('600');
    expect(await rpcCall(sock, 'echo', { a: 1 })).toEqual({ got: { a: 1 } });
    await expect(rpcCall(sock, 'fail')).rejects.toMatchObject({
      name: 'RpcError',
      code: 'ConfigError',
      message: 'bad thing',
    });
    await expect(rpcCall(sock, 'nope')).rejects.toMatchObject({ code: 'EMETHOD' });
  });

  it('streams raw bytes after the reply line', async () => {
    server = await startRpcServer(sock, {
      stream: () => new StreamReply({ started: true }, (s) => s.end(Buffer.from([1, 2, 3, 10, 4]))),
    });
    const { result, socket } = await rpcOpenStream(sock, 'stream');
    expect(result).toEqual({ started: true });
    const chunks: Buffer[] = [];
    for await (const c of socket) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks)).toEqual(Buffer.from([1, 2, 3, 10, 4]));
  });

  it('says clearly when no node listens', async () => {
    await expect(rpcCall(path.join(dir, 'missing.sock'), 'ping')).rejects.toMatchObject({ code: 'ENOSOCKET' });
  });
});
