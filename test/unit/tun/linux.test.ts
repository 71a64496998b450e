import { describe, expect, it } from 'vitest';
import { nativeAvailable } from '../../../src/sys/addon.js';
import { openLinuxTun } from '../../../src/tun/linux.js';
import { requireOrSkip } from '../../helpers/root.js';

const skip = requireOrSkip(nativeAvailable(), 'native addon tests: the addon is not built (run npm install)');

describe.skipIf(skip)('openLinuxTun', () => {
  it('openLinuxTun validates its options before touching the OS', () => {
    expect(() => openLinuxTun({ name: 'much-too-long-name0', mtu: 1500 })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
    expect(() => openLinuxTun({ name: 'flt0', mtu: 10 })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
    expect(() => openLinuxTun({ name: 'flt0', mtu: 1500, burst: 0 })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
  });
});
