import { describe, expect, it } from 'vitest';
import { formFromPlan, planFromForm, type PlanForm } from './plan.ts';
import { DEFAULT_TOKEN as T } from '../format/money.ts';

const base = (over: Partial<PlanForm> = {}): PlanForm => ({
  ratePerMinute: '0.00006',
  premiumPerMinute: '',
  tiers: [{ price: '', days: '' }, { price: '', days: '' }, { price: '', days: '' }],
  dynamic: { enabled: false, floorPerMinute: '', ceilingPerMinute: '', stepPerMinute: '0' },
  ...over,
});

describe('plan form', () => {
  it('turns per-minute token prices into plancks per second', () => {
    expect(planFromForm(base(), T)).toEqual({ ratePerSecond: 1_000_000n, premiumRatePerSecond: null, tiers: [], dynamic: null });
  });
  it('reads tiers in days and the dynamic rule', () => {
    const p = planFromForm(
      base({
        premiumPerMinute: '0.00012',
        tiers: [{ price: '1.5', days: '30' }, { price: '', days: '' }, { price: '', days: '' }],
        dynamic: { enabled: true, floorPerMinute: '0.00006', ceilingPerMinute: '0.00012', stepPerMinute: '0.000006' },
      }),
      T,
    );
    expect(p.premiumRatePerSecond).toBe(2_000_000n);
    expect(p.tiers).toEqual([{ price: 1_500_000_000_000n, periodMs: 2_592_000_000n }]);
    expect(p.dynamic).toEqual({ floor: 1_000_000n, ceiling: 2_000_000n, stepPerViewer: 100_000n });
  });
  it('refuses bad input naming the field', () => {
    expect(() => planFromForm(base({ ratePerMinute: 'abc' }), T)).toThrow('Rate: "abc" is not an amount');
    expect(() => planFromForm(base({ ratePerMinute: '0.00000000001' }), T)).toThrow('multiple of 60 plancks');
    expect(() => planFromForm(base({ premiumPerMinute: '0.00000006' }), T)).toThrow('at least the rate');
    expect(() => planFromForm(base({ tiers: [{ price: '1', days: '0' }] }), T)).toThrow('Tier 1 days');
    expect(() => planFromForm(base({ tiers: [{ price: '0', days: '3' }] }), T)).toThrow('Tier 1 price: it must be above zero');
    expect(() =>
      planFromForm(base({ dynamic: { enabled: true, floorPerMinute: '0.00012', ceilingPerMinute: '0.00006', stepPerMinute: '0' } }), T),
    ).toThrow('not be above the ceiling');
  });
  it('round-trips a plan through the form', () => {
    const plan = { ratePerSecond: 1_000_000n, premiumRatePerSecond: 3_000_000n, tiers: [{ price: 10n ** 12n, periodMs: 7n * 86_400_000n }], dynamic: { floor: 1_000_000n, ceiling: 5_000_000n, stepPerViewer: 1_000n } };
    expect(planFromForm(formFromPlan({ ...plan, creator: 'x', updatedAtMs: 0n }, T), T)).toEqual(plan);
  });
});
