// The node command's data-path switches: GSO/GRO defaults and the busy-poll window's flag.
import { describe, expect, it } from 'vitest';
import { underlaySwitches } from '../../../src/cli/node-datapath-flags.js';
import { ConfigError } from '../../../src/util/errors.js';

describe('underlaySwitches', () => {
  it('defaults: GSO and GRO on, busy-poll window off', () => {
    expect(underlaySwitches({})).toEqual({ gso: true, gro: true, busyPollUs: 0 });
  });

  it('takes --busy-poll-us 0..10000', () => {
    expect(underlaySwitches({ busyPollUs: '50' }).busyPollUs).toBe(50);
    expect(underlaySwitches({ busyPollUs: '10000' }).busyPollUs).toBe(10000);
    expect(underlaySwitches({ udpGso: false, udpGro: false, busyPollUs: '0' })).toEqual({
      gso: false,
      gro: false,
      busyPollUs: 0,
    });
  });

  it.each(['-1', '10001', '2.5', 'fast', ''])('refuses --busy-poll-us %s in one line', (v) => {
    expect(() => underlaySwitches({ busyPollUs: v })).toThrow(ConfigError);
    expect(() => underlaySwitches({ busyPollUs: v })).toThrow(
      `--busy-poll-us ${v}: expected a whole number from 0 to 10000`,
    );
  });
});
