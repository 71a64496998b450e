import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeKubeProtobuf, PROTOBUF_MAGIC } from '../../../src/controlplane/protobuf.js';
import { KubeApiError } from '../../../src/util/errors.js';

// Hand-built wire bytes: key = (field << 3) | wire type; 2 = length-delimited, 0 = varint.
const ld = (no: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([(no << 3) | 2, body.length]), body]);
const str = (no: number, s: string): Buffer => ld(no, Buffer.from(s));
const varint = (no: number, v: number): Buffer => Buffer.from([(no << 3) | 0, v]);

describe('kube protobuf bodies', () => {
  it('decodes a Namespace and a Deployment envelope into the JSON the API takes', () => {
    const ns = Buffer.concat([
      PROTOBUF_MAGIC,
      ld(1, Buffer.concat([str(1, 'v1'), str(2, 'Namespace')])),
      ld(2, ld(1, str(1, 'team-a'))),
    ]);
    expect(decodeKubeProtobuf(ns)).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    const container = Buffer.concat([str(1, 'web'), str(2, 'nginx'), ld(6, varint(3, 80)), ld(8, Buffer.alloc(0))]);
    const spec = Buffer.concat([varint(1, 0), ld(3, ld(2, ld(2, container))), ld(4, Buffer.alloc(0))]);
    const dep = Buffer.concat([
      PROTOBUF_MAGIC,
      ld(1, Buffer.concat([str(1, 'apps/v1'), str(2, 'Deployment')])),
      ld(2, Buffer.concat([ld(1, str(1, 'd')), ld(2, spec)])),
    ]);
    expect(decodeKubeProtobuf(dep)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        replicas: 0,
        template: {
          spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }], resources: {} }] },
        },
        strategy: {},
      },
    });
  });

  it('answers anything else with 415 and never another error', () => {
    expect(() => decodeKubeProtobuf(Buffer.from('{"kind":"Pod"}'))).toThrow(KubeApiError);
    const svc = Buffer.concat([PROTOBUF_MAGIC, ld(1, Buffer.concat([str(1, 'v1'), str(2, 'Service')]))]);
    expect(() => decodeKubeProtobuf(svc)).toThrow(/kind Service/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeKubeProtobuf(Buffer.concat([PROTOBUF_MAGIC, Buffer.from(bytes)]));
        } catch (e) {
          return e instanceof KubeApiError && e.httpStatus === 415;
        }
        return true;
      }),
    );
  });
});
