/**
 * The creator's pricing form ⇄ pricing_engine's PlanInput. Amounts are typed in tokens and become
 * plancks; tier periods are typed in days. Bad input is refused with a PlanFormError naming the field,
 * before anything is signed. (The contract checks the same rules and has the last word.)
 */
import type { PlanInput, PricePlan } from '$typechain/pricing_engine.ts';
import { AmountError, amountText, parseAmount, type Token } from '../format/money.ts';

export const MAX_TIERS = 3;
const DAY_MS = 86_400_000n;

export interface PlanForm {
  /** Tokens per minute (people think in minutes; the chain in seconds). */
  ratePerMinute: string;
  premiumPerMinute: string;
  tiers: { price: string; days: string }[];
  dynamic: { enabled: boolean; floorPerMinute: string; ceilingPerMinute: string; stepPerMinute: string };
}

export class PlanFormError extends Error {
  override name = 'PlanFormError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function amount(field: string, text: string, token: Token): bigint {
  try {
    return parseAmount(text, token);
  } catch (e) {
    if (e instanceof AmountError) throw new PlanFormError(field, `${field}: ${e.message}`);
    throw e;
  }
}

/** Per-minute text → plancks per second; refused unless it divides into whole plancks per second. */
function perSecond(field: string, text: string, token: Token): bigint {
  const perMinute = amount(field, text, token);
  if (perMinute % 60n !== 0n) throw new PlanFormError(field, `${field}: a per-minute price must be a whole number of plancks per second (a multiple of 60 plancks)`);
  return perMinute / 60n;
}

export function planFromForm(f: PlanForm, token: Token): PlanInput {
  const ratePerSecond = perSecond('Rate', f.ratePerMinute, token);
  const premium = f.premiumPerMinute.trim() ? perSecond('Premium rate', f.premiumPerMinute, token) : null;
  if (premium !== null && premium < ratePerSecond) throw new PlanFormError('Premium rate', 'Premium rate: it must be at least the rate');
  const filled = f.tiers.filter((t) => t.price.trim() || t.days.trim());
  if (filled.length > MAX_TIERS) throw new PlanFormError('Tiers', `Tiers: at most ${MAX_TIERS}`);
  const tiers = filled.map((t, i) => {
    const price = amount(`Tier ${i + 1} price`, t.price, token);
    if (price === 0n) throw new PlanFormError(`Tier ${i + 1} price`, `Tier ${i + 1} price: it must be above zero`);
    if (!/^[1-9]\d{0,4}$/.test(t.days.trim())) throw new PlanFormError(`Tier ${i + 1} days`, `Tier ${i + 1} days: a whole number of days from 1`);
    return { price, periodMs: BigInt(t.days.trim()) * DAY_MS };
  });
  let dynamic: PlanInput['dynamic'] = null;
  if (f.dynamic.enabled) {
    const floor = perSecond('Dynamic floor', f.dynamic.floorPerMinute, token);
    const ceiling = perSecond('Dynamic ceiling', f.dynamic.ceilingPerMinute, token);
    const stepPerViewer = perSecond('Step per viewer', f.dynamic.stepPerMinute, token);
    if (floor > ceiling) throw new PlanFormError('Dynamic floor', 'Dynamic floor: it must not be above the ceiling');
    dynamic = { floor, ceiling, stepPerViewer };
  }
  return { ratePerSecond, premiumRatePerSecond: premium, tiers, dynamic };
}

export function formFromPlan(p: PricePlan | null, token: Token): PlanForm {
  const perMinute = (r: bigint) => amountText(r * 60n, token);
  return {
    ratePerMinute: p ? perMinute(p.ratePerSecond) : '',
    premiumPerMinute: p?.premiumRatePerSecond != null ? perMinute(p.premiumRatePerSecond) : '',
    tiers: Array.from({ length: MAX_TIERS }, (_, i) => {
      const t = p?.tiers[i];
      return t ? { price: amountText(t.price, token), days: String(t.periodMs / DAY_MS) } : { price: '', days: '' };
    }),
    dynamic: p?.dynamic
      ? { enabled: true, floorPerMinute: perMinute(p.dynamic.floor), ceilingPerMinute: perMinute(p.dynamic.ceiling), stepPerMinute: perMinute(p.dynamic.stepPerViewer) }
      : { enabled: false, floorPerMinute: '', ceilingPerMinute: '', stepPerMinute: '0' },
  };
}
