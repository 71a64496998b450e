import { describe, expect, it } from 'vitest';
import { loadNative, nativeAvailable, nativeError } from '../../../src/sys/addon.js';
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
});
