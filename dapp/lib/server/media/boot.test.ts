import { describe, expect, it } from 'vitest';
import { ConfigError, wholeSetting } from './boot.ts';

describe('server settings from the environment', () => {
  it('takes a whole number ≥ 1, or the default when unset or empty', () => {
    expect(wholeSetting({ VILO_SETTLE_MIN_TICKS: '600' }, 'VILO_SETTLE_MIN_TICKS', 1)).toBe(600);
    expect(wholeSetting({}, 'VILO_SETTLE_MIN_TICKS', 1)).toBe(1);
    expect(wholeSetting({ VILO_SETTLE_MIN_TICKS: '' }, 'VILO_SETTLE_MIN_TICKS', 1)).toBe(1);
  });

  it.each(['0', '-5', '1.5', 'ten', '1e3', '99999999999999999999'])('refuses %j with a ConfigError naming the setting', (raw) => {
    const read = () => wholeSetting({ VILO_SETTLE_INTERVAL_MS: raw }, 'VILO_SETTLE_INTERVAL_MS', 10_000);
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(`VILO_SETTLE_INTERVAL_MS must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}, got "${raw}"`);
  });

  it('refuses a value above the maximum (VILO_SETTLE_MIN_TICKS: the contract ends sessions unsettled for 10 min)', () => {
    expect(wholeSetting({ VILO_SETTLE_MIN_TICKS: '300' }, 'VILO_SETTLE_MIN_TICKS', 1, 300)).toBe(300);
    expect(() => wholeSetting({ VILO_SETTLE_MIN_TICKS: '301' }, 'VILO_SETTLE_MIN_TICKS', 1, 300)).toThrow('VILO_SETTLE_MIN_TICKS must be a whole number from 1 to 300, got "301"');
  });
});
