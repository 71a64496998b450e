import { describe, expect, it } from 'vitest';
import { nativeAvailable } from '../../../src/sys/addon.js';
import { withNetns } from '../../../src/sys/netns.js';
import { requireOrSkip } from '../../helpers/root.js';

const skip = requireOrSkip(nativeAvailable(), 'native addon tests: the addon is not built (run npm install)');

describe.skipIf(skip)('withNetns', () => {
  it('withNetns refuses bad names and unknown namespaces', () => {
    expect(() => withNetns('../etc', () => 1)).toThrow(expect.objectContaining({ name: 'DeviceError' }));
    expect(() => withNetns('flt-does-not-exist-9f9f', () => 1)).toThrow(expect.objectContaining({ name: 'DeviceError' }));
  });
});
