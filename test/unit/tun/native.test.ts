import { describe, expect, it } from 'vitest';
import { loadNative, nativeAvailable, nativeError, withNetns } from '../../../src/tun/native.js';
import { openLinuxTun } from '../../../src/tun/linux.js';
import { requireOrSkip } from '../../helpers/root.js';

const skip = requireOrSkip(nativeAvailable(), 'native addon tests: the addon is not built (run npm install)');

describe('nativeError', () => {
  it('maps EPERM/EACCES to PermissionError and everything else to DeviceError, keeping the cause', () => {
    const eperm = Object.assign(new Error('x'), { code: 'EPERM' });
    expect(nativeError(eperm)).toMatchObject({ name: 'PermissionError', code: 'EPERM', cause: eperm });
    expect(nativeError(Object.assign(new Error('y'), { code: 'EACCES' })).name).toBe('PermissionError');
    expect(nativeError(Object.assign(new Error('z'), { code: 'EBUSY' }), 'busy')).toMatchObject({ name: 'DeviceError', message: 'busy' });
  });
});

describe.skipIf(skip)('native addon', () => {
  it('loads once and exposes the documented functions', () => {
    const addon = loadNative();
    expect(loadNative()).toBe(addon);
    for (const fn of ['tunOpen', 'tunStart', 'tunWrite', 'udpOpen', 'udpStart', 'udpSend', 'udpFlush', 'devClose', 'devStats', 'netnsEnter', 'netnsRestore'])
      expect(typeof (addon as unknown as Record<string, unknown>)[fn]).toBe('function');
  });

  it('rejects handles that are not device handles with a TypeError', () => {
    const addon = loadNative();
    expect(() => addon.devClose({} as never)).toThrow(TypeError);
    expect(() => addon.tunWrite(42 as never, Buffer.alloc(1), 0, 1)).toThrow(TypeError);
  });

  it('withNetns refuses bad names and unknown namespaces', () => {
    expect(() => withNetns('../etc', () => 1)).toThrow(expect.objectContaining({ name: 'DeviceError' }));
    expect(() => withNetns('flt-does-not-exist-9f9f', () => 1)).toThrow(expect.objectContaining({ name: 'DeviceError' }));
  });

  it('openLinuxTun validates its options before touching the OS', () => {
    expect(() => openLinuxTun({ name: 'much-too-long-name0', mtu: 1500 })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
    expect(() => openLinuxTun({ name: 'flt0', mtu: 10 })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
    expect(() => openLinuxTun({ name: 'flt0', mtu: 1500, burst: 0 })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
  });
});
