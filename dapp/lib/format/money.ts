/**
 * Balances and durations as people read them. Amounts are plancks (bigint); a token has `decimals`
 * (12 on the local chain: 1 UNIT = 10^12 plancks). Durations are whole seconds.
 */

export interface Token {
  symbol: string;
  decimals: number;
}

export const DEFAULT_TOKEN: Token = { symbol: 'UNIT', decimals: 12 };

export class AmountError extends Error {
  override name = 'AmountError';
}

/**
 * `plancks` in whole tokens with at most `maxFraction` fraction digits (trailing zeros dropped),
 * thousands separated: 1_234_500_000_000_000n → "1,234.5 UNIT". Amounts too small for `maxFraction`
 * digits keep their significant digits (so a per-second rate of 1 µUNIT reads "0.000001 UNIT").
 */
export function formatBalance(plancks: bigint, token: Token = DEFAULT_TOKEN, maxFraction = 4): string {
  const negative = plancks < 0n;
  const abs = negative ? -plancks : plancks;
  const unit = 10n ** BigInt(token.decimals);
  const whole = abs / unit;
  let fraction = (abs % unit).toString().padStart(token.decimals, '0');
  if (whole === 0n && abs !== 0n) {
    // Keep up to three significant digits of a sub-unit amount.
    const firstDigit = fraction.search(/[1-9]/);
    fraction = fraction.slice(0, Math.max(maxFraction, firstDigit + 3));
  } else {
    fraction = fraction.slice(0, maxFraction);
  }
  fraction = fraction.replace(/0+$/, '');
  const grouped = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '−' : ''}${grouped}${fraction ? '.' + fraction : ''} ${token.symbol}`;
}

/** Parses a decimal amount of tokens ("1.5", "0.000001") into plancks; refuses anything else. */
export function parseAmount(text: string, token: Token = DEFAULT_TOKEN): bigint {
  const t = text.trim();
  const m = /^(\d+)(?:\.(\d+))?$/.exec(t);
  if (!m) throw new AmountError(`"${text}" is not an amount; write a number such as 1.5`);
  const [, whole, fraction = ''] = m;
  if (fraction.length > token.decimals) {
    throw new AmountError(`${token.symbol} has ${token.decimals} decimals; "${text}" has more`);
  }
  return BigInt(whole) * 10n ** BigInt(token.decimals) + BigInt(fraction.padEnd(token.decimals, '0') || '0');
}

/** Plancks back to the decimal text `parseAmount` reads (for pre-filling inputs). */
export function amountText(plancks: bigint, token: Token = DEFAULT_TOKEN): string {
  const unit = 10n ** BigInt(token.decimals);
  const fraction = (plancks % unit).toString().padStart(token.decimals, '0').replace(/0+$/, '');
  return `${plancks / unit}${fraction ? '.' + fraction : ''}`;
}

/** Seconds as a clock: 75 → "1:15", 3_725 → "1:02:05". Negative counts as zero. */
export function formatClock(seconds: bigint | number): string {
  let s = typeof seconds === 'bigint' ? seconds : BigInt(Math.max(0, Math.floor(seconds)));
  if (s < 0n) s = 0n;
  const h = s / 3600n;
  const m = (s % 3600n) / 60n;
  const sec = s % 60n;
  const two = (n: bigint) => n.toString().padStart(2, '0');
  return h > 0n ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

/** Seconds in words for longer spans: 90 → "1 min 30 s", 90_000 → "1 d 1 h", 2^64-1 → "for ever". */
export function formatDuration(seconds: bigint): string {
  if (seconds >= 10n ** 12n) return 'for ever';
  if (seconds < 60n) return `${seconds} s`;
  const d = seconds / 86_400n;
  const h = (seconds % 86_400n) / 3600n;
  const m = (seconds % 3600n) / 60n;
  const s = seconds % 60n;
  if (d > 0n) return h > 0n ? `${d} d ${h} h` : `${d} d`;
  if (h > 0n) return m > 0n ? `${h} h ${m} min` : `${h} h`;
  return s > 0n ? `${m} min ${s} s` : `${m} min`;
}

/** A per-second rate with its per-minute and per-hour equivalents, e.g. for listings. */
export function formatRate(ratePerSecond: bigint, token: Token = DEFAULT_TOKEN): { perMinute: string; perSecond: string; perHour: string } {
  return {
    perSecond: `${formatBalance(ratePerSecond, token, 6)}/s`,
    perMinute: `${formatBalance(ratePerSecond * 60n, token)}/min`,
    perHour: `${formatBalance(ratePerSecond * 3600n, token)}/h`,
  };
}

/**
 * `plancks` in a display currency at a configured price per token: "≈ $0.0036". Small amounts keep
 * two significant digits (a per-second price is often a fraction of a cent).
 */
export function formatFiat(plancks: bigint, token: Token, currency: { code: string; perToken: number }): string {
  const value = (Number(plancks) / 10 ** token.decimals) * currency.perToken;
  const digits = value === 0 || value >= 0.01 ? 2 : Math.min(8, 1 - Math.floor(Math.log10(value)));
  return `≈ ${new Intl.NumberFormat('en', { style: 'currency', currency: currency.code, minimumFractionDigits: 2, maximumFractionDigits: Math.max(2, digits) }).format(value)}`;
}

/**
 * Where a payment of `amount` goes: the platform's fee (basis points of each charge, floored as the
 * payment handler books it) and the creator's share.
 */
export function paymentSplit(amount: bigint, feeBps: number): { creator: bigint; platform: bigint } {
  const platform = (amount * BigInt(feeBps)) / 10_000n;
  return { creator: amount - platform, platform };
}

/** A short form of an SS58 address: 5GrwvaEF…oHGKutQY. */
export function shortAddress(address: string): string {
  return address.length > 16 ? `${address.slice(0, 8)}…${address.slice(-8)}` : address;
}
