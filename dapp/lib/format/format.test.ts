import { describe, expect, it } from 'vitest';
import { amountText, formatBalance, formatClock, formatDuration, formatRate, parseAmount, shortAddress } from './money.ts';
import { depositFor, tabRunwayText } from './meter.ts';
import { errorSentence, isStaleNonce } from './errors.ts';
import { ContractError, ChainError } from '../../../typechain/runtime.ts';

const UNIT = 10n ** 12n;

describe('formatBalance', () => {
  it('writes whole tokens with grouped thousands and trimmed fractions', () => {
    expect(formatBalance(1_234n * UNIT + UNIT / 2n)).toBe('1,234.5 UNIT');
    expect(formatBalance(0n)).toBe('0 UNIT');
    expect(formatBalance(5n * UNIT)).toBe('5 UNIT');
  });
  it('keeps three significant digits of tiny amounts (per-second rates)', () => {
    expect(formatBalance(1_000_000n)).toBe('0.000001 UNIT');
    expect(formatBalance(1_234_567n)).toBe('0.00000123 UNIT');
    expect(formatBalance(60_000_000n)).toBe('0.00006 UNIT');
  });
  it('marks negative amounts', () => {
    expect(formatBalance(-UNIT)).toBe('−1 UNIT');
  });
});

describe('parseAmount', () => {
  it('reads decimal token amounts exactly', () => {
    expect(parseAmount('1.5')).toBe(1_500_000_000_000n);
    expect(parseAmount(' 0.000001 ')).toBe(1_000_000n);
    expect(parseAmount('3')).toBe(3n * UNIT);
  });
  it('refuses what is not an amount, naming the problem', () => {
    expect(() => parseAmount('-1')).toThrow('is not an amount');
    expect(() => parseAmount('1e5')).toThrow('is not an amount');
    expect(() => parseAmount('')).toThrow('is not an amount');
    expect(() => parseAmount('0.0000000000001')).toThrow('UNIT has 12 decimals');
  });
  it('round-trips with amountText', () => {
    for (const p of [0n, 1n, 1_000_000n, 1_500_000_000_000n, 42n * UNIT]) expect(parseAmount(amountText(p))).toBe(p);
  });
});

describe('durations', () => {
  it('formats clocks', () => {
    expect(formatClock(0)).toBe('0:00');
    expect(formatClock(75n)).toBe('1:15');
    expect(formatClock(750n)).toBe('12:30');
    expect(formatClock(3_725n)).toBe('1:02:05');
    expect(formatClock(-5)).toBe('0:00');
  });
  it('formats spans in words', () => {
    expect(formatDuration(45n)).toBe('45 s');
    expect(formatDuration(90n)).toBe('1 min 30 s');
    expect(formatDuration(7_200n)).toBe('2 h');
    expect(formatDuration(90_000n)).toBe('1 d 1 h');
    expect(formatDuration((1n << 64n) - 1n)).toBe('for ever');
  });
  it('formats rates per second, minute and hour', () => {
    expect(formatRate(1_000_000n)).toEqual({ perSecond: '0.000001 UNIT/s', perMinute: '0.00006 UNIT/min', perHour: '0.0036 UNIT/h' });
  });
  it('shortens addresses', () => {
    expect(shortAddress('5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY')).toBe('5GrwvaEF…oHGKutQY');
  });
});

describe('runway', () => {
  const rate = 1_000_000n;
  it('says how long a tab lasts at a watch’s rate', () => {
    expect(tabRunwayText(750n * 3n + 2n, 3n)).toBe('your tab lasts 12:30 more at this rate');
    expect(tabRunwayText(2n, 3n)).toBe('your tab is used up');
    expect(tabRunwayText(0n, 0n)).toMatch(/no per-second charge/);
    expect(tabRunwayText(200_000n, 1n)).toBe('your tab lasts 2 d 7 h more at this rate');
  });
  it('suggests tab deposits by minutes of watching', () => {
    expect(depositFor(rate, 10n)).toBe(600n * rate);
  });
});

describe('errorSentence', () => {
  it('uses the contract doc sentence and writes fields into it', () => {
    const e = new ContractError('stream_registry', 'registerStream', { type: 'TitleTooLong', max: 64 }, 'The title is longer than `max` bytes. (max 64)');
    expect(errorSentence(e)).toBe('The title is longer than 64 bytes.');
  });
  it('formats balances in fields it cannot place in the sentence', () => {
    const e = new ContractError('payment_handler', 'buySubscription', { type: 'WrongPayment', expected: 1_000_000n, received: 0n }, "The value sent is not the tier's price. (expected 1000000, received 0)");
    expect(errorSentence(e)).toBe("The amount sent is not the tier's price (expected: 0.000001 UNIT, received: 0 UNIT).");
  });
  it('writes chain times as UTC moments', () => {
    const e = new ContractError('tick_stream', 'finishClose', { type: 'DisputeWindowOpen', endsAtMs: 1_790_000_000_000n }, 'x (endsAtMs 1790000000000)');
    expect(errorSentence(e)).toBe('The tab is still closing: what is left comes back after 2026-09-21 14:13:20 UTC.');
  });
  it('says a list of streams was too long to price at once', () => {
    const e = new ContractError('tick_stream', 'rates', { type: 'BatchTooLarge', max: 200 }, 'x (max 200)');
    expect(errorSentence(e)).toBe('Too many streams or vouchers asked at once (at most 200).');
  });
  it('keeps field-less sentences as they are', () => {
    const e = new ContractError('payment_handler', 'withdrawEarnings', { type: 'NothingToWithdraw' }, 'There is nothing to withdraw.');
    expect(errorSentence(e)).toBe('There is nothing to withdraw yet.');
  });
  it('explains wallet cancellations, fees and network failures', () => {
    expect(errorSentence(new ChainError('Rejected', 'Cancelled'))).toMatch(/You cancelled the request in your wallet/);
    expect(errorSentence(new ChainError('Rejected', '1010: Invalid Transaction: Inability to pay some fees , e.g. account balance too low'))).toMatch(/enough funds/);
    expect(errorSentence(new TypeError('Failed to fetch'))).toMatch(/could not be reached/);
    expect(errorSentence(new ChainError('Invalid', 'the transaction was invalid'))).toBe('The chain did not accept the transaction (invalid); nothing was changed.');
  });
  it('ends any other message as a sentence', () => {
    expect(errorSentence(new Error('stream key refused'))).toBe('Stream key refused.');
    expect(errorSentence('plain')).toBe('Plain.');
  });
});

describe('isStaleNonce: when the watch page signs its open again with the node’s nonce', () => {
  it('knows a used nonce (node and chopsticks wording) and one a pooled transaction holds, and nothing else', () => {
    expect(isStaleNonce(new Error('1010: Invalid Transaction: Transaction is outdated'))).toBe(true);
    expect(isStaleNonce(new Error('1010: {"invalid":{"stale":null}}'))).toBe(true);
    expect(isStaleNonce(new Error('1014: Priority is too low: (0 vs 0)'))).toBe(true);
    expect(isStaleNonce(new Error('1010: Invalid Transaction: Inability to pay some fees (e.g. account balance too low)'))).toBe(false);
    expect(isStaleNonce(new Error('Cancelled'))).toBe(false);
    expect(isStaleNonce('outdated')).toBe(false);
  });
});
