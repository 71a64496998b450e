// The wireguard backend's configuration as flannel and flannelette take it: flannel's network config
// (ListenPort, PSK, PersistentKeepaliveInterval), the lease's BackendData.PublicKey, the cluster
// file's publicKey, `--peer ...,key=`, and the 0600 key file reused across restarts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseClusterFile, nodeToPeer } from '../../../src/control/cluster-file.js';
import {
  decodeLeaseAttrs,
  encodeLeaseAttrs,
  formatNetworkConfig,
  leaseToPeer,
  parseNetworkConfig,
} from '../../../src/control/flannel-format.js';
import { parsePeerFlag } from '../../../src/cli/peer-flag.js';
import { loadOrCreateWgKey } from '../../../src/node/wg-key.js';
import { generateKeys, staticKeys } from '../../../src/wireguard/crypto.js';
import { Cidr } from '../../../src/addr/ipv4.js';

const key = generateKeys().publicKey.toString('base64');
const psk = Buffer.alloc(32, 5).toString('base64');

describe('wireguard configuration', () => {
  it("reads flannel's wireguard Backend options", () => {
    const cfg = parseNetworkConfig(
      `{"Network":"10.244.0.0/16","Backend":{"Type":"wireguard","ListenPort":51999,"PSK":"${psk}","PersistentKeepaliveInterval":25}}`,
    );
    expect(cfg.backend).toMatchObject({ type: 'wireguard', port: 51999, persistentKeepaliveS: 25 });
    expect(cfg.backend.psk!.toString('base64')).toBe(psk);
    expect(parseNetworkConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"wireguard"}}').backend).toMatchObject({
      port: 51820,
      vni: 0,
    });
    expect(() =>
      parseNetworkConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"wireguard","PSK":"short"}}'),
    ).toThrow(/Backend\.PSK must be a base64 32-byte key/);
    expect(() =>
      parseNetworkConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"wireguard","ListenPort":70000}}'),
    ).toThrow(/ListenPort 70000 is out of range/);
    expect(
      (
        JSON.parse(formatNetworkConfig({ network: Cidr.parse('10.244.0.0/16'), backend: 'wireguard' })) as {
          Backend: unknown;
        }
      ).Backend,
    ).toEqual({ Type: 'wireguard', ListenPort: 51820 });
  });

  it('writes and reads the lease as flannel does: BackendData {"PublicKey": ...}', () => {
    const text = encodeLeaseAttrs({ publicIp: 0xc0a80102, backendType: 'wireguard', publicKey: key });
    expect(JSON.parse(text)).toEqual({
      PublicIP: '192.168.1.2',
      PublicIPv6: null,
      BackendType: 'wireguard',
      BackendData: { PublicKey: key },
    });
    const back = decodeLeaseAttrs(text);
    expect(back.ok && back.value.publicKey).toBe(key);
    const peer = leaseToPeer(
      Cidr.parse('10.244.2.0/24'),
      (back as { value: Parameters<typeof leaseToPeer>[1] }).value,
      'wireguard',
    );
    expect(peer.ok && peer.value.publicKey!.toString('base64')).toBe(key);
    expect(decodeLeaseAttrs('{"PublicIP":"192.168.1.2","BackendType":"wireguard","BackendData":{}}')).toMatchObject({
      ok: false,
    });
  });

  it('takes publicKey in the cluster file, required for every node of a wireguard cluster', () => {
    const text = `network: 10.244.0.0/16
backend: { type: wireguard, psk: ${psk}, persistentKeepalive: 15 }
nodes:
  - { name: node1, publicIp: 192.168.1.2, subnet: 10.244.1.0/24, publicKey: ${key} }
  - { name: node2, publicIp: 192.168.1.3, subnet: 10.244.2.0/24, publicKey: ${key} }
`;
    const cfg = parseClusterFile(text, 'c.yaml');
    expect(cfg.backend).toMatchObject({ type: 'wireguard', port: 51820, persistentKeepaliveS: 15 });
    expect(nodeToPeer(cfg.nodes[1]).publicKey!.toString('base64')).toBe(key);
    expect(() => parseClusterFile(text.replace(/, publicKey: [^ ]+ \}\n$/, ' }\n'), 'c.yaml')).toThrow(
      /^c\.yaml:5: nodes\[1\]\.publicKey is missing/,
    );
    expect(() =>
      parseClusterFile(
        text.replace(`publicKey: ${key} }\n  - { name: node2`, 'publicKey: nope }\n  - { name: node2'),
        'c.yaml',
      ),
    ).toThrow(/^c\.yaml:4: nodes\[0\]\.publicKey "nope" is not a base64 32-byte key/);
    expect(() => parseClusterFile(text.replace('type: wireguard', 'type: udp'), 'c.yaml')).toThrow(
      /c\.yaml:2: backend\.psk and backend\.persistentKeepalive apply to the wireguard backend only/,
    );
  });

  it('takes key= in --peer', () => {
    expect(parsePeerFlag(`name=n2,ip=10.0.0.2,subnet=10.244.2.0/24,key=${key}`).publicKey!.toString('base64')).toBe(
      key,
    );
    expect(() => parsePeerFlag('name=n2,ip=10.0.0.2,subnet=10.244.2.0/24,key=abc')).toThrow(
      /key=abc is not a base64 32-byte public key/,
    );
  });

  it('creates the key file with mode 0600, reuses it, and refuses a bad or exposed one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-wgkey-'));
    try {
      const file = path.join(dir, 'sub', 'node1.wg-key');
      const first = loadOrCreateWgKey(file);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(file, 'utf8')).toBe(`${first.privateKey.toString('base64')}\n`);
      const again = loadOrCreateWgKey(file);
      expect(again.publicKey.equals(first.publicKey)).toBe(true);
      expect(staticKeys(again.privateKey).publicKey.equals(first.publicKey)).toBe(true);
      fs.chmodSync(file, 0o644);
      expect(() => loadOrCreateWgKey(file)).toThrow(/readable by others \(mode 644\)/);
      fs.writeFileSync(file, 'not a key\n', { mode: 0o600 });
      fs.chmodSync(file, 0o600);
      expect(() => loadOrCreateWgKey(file)).toThrow(/not a WireGuard private key/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
