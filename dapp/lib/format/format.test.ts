import { describe, expect, it } from 'vitest';
import { amountText, formatBalance, formatClock, formatDuration, formatRate, parseAmount, shortAddress } from './money.ts';
import { depositFor, meter, runwayText, UNBOUNDED } from './meter.ts';
import { errorSentence } from './errors.ts';
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
    expect(formatDuration(UNBOUNDED)).toBe('for ever');
  });
  it('formats rates per second, minute and hour', () => {
    expect(formatRate(1_000_000n)).toEqual({ perSecond: '0.000001 UNIT/s', perMinute: '0.00006 UNIT/min', perHour: '0.0036 UNIT/h' });
  });
  it('shortens addresses', () => {
    expect(shortAddress('5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY')).toBe('5GrwvaEF…oHGKutQY');
  });
});

describe('cost meter', () => {
  const rate = 1_000_000n;
  it('charges ticks × rate and subtracts unsettled seconds from the escrow', () => {
    const m = meter({ ratePerSecond: rate, ticks: 30n, settledTicks: 10n, escrowOnChain: 100n * rate });
    expect(m.spent).toBe(30n * rate);
    expect(m.escrowLeft).toBe(80n * rate);
    expect(m.runwaySeconds).toBe(80n);
    expect(m.maxTicks).toBe(110n);
    expect(m.low).toBe(false);
  });
  it('warns at a minute of runway and stops at zero', () => {
    expect(meter({ ratePerSecond: rate, ticks: 0n, settledTicks: 0n, escrowOnChain: 60n * rate }).low).toBe(true);
    const done = meter({ ratePerSecond: rate, ticks: 5n, settledTicks: 0n, escrowOnChain: 5n * rate + rate / 2n });
    expect(done.runwaySeconds).toBe(0n);
    expect(done.exhausted).toBe(true);
    expect(done.maxTicks).toBe(5n);
  });
  it('never shows a negative escrow', () => {
    expect(meter({ ratePerSecond: rate, ticks: 50n, settledTicks: 0n, escrowOnChain: 10n * rate }).escrowLeft).toBe(0n);
  });
  it('is unbounded at a zero rate (subscription)', () => {
    const m = meter({ ratePerSecond: 0n, ticks: 500n, settledTicks: 0n, escrowOnChain: 0n });
    expect(m.runwaySeconds).toBe(UNBOUNDED);
    expect(m.exhausted).toBe(false);
  });
  it('says how long the deposit lasts', () => {
    expect(runwayText(750n)).toBe('your deposit lasts 12:30 more');
    expect(runwayText(0n)).toBe('your deposit is used up');
    expect(runwayText(UNBOUNDED)).toMatch(/no per-second charge/);
    expect(runwayText(200_000n)).toBe('your deposit lasts 2 d 7 h more');
  });
  it('suggests deposits by minutes', () => {
    expect(depositFor(rate, 10n)).toBe(600n * rate);
  });
});

describe('errorSentence', () => {
  it('uses the contract doc sentence and writes fields into it', () => {
    const e = new ContractError('stream_registry', 'registerStream', { type: 'TitleTooLong', max: 64 }, 'The title is longer than `max` bytes. (max 64)');
    expect(errorSentence(e)).toBe('The title is longer than 64 bytes.');
  });
  it('formats balances in fields it cannot place in the sentence', () => {
    const e = new ContractError('tick_stream', 'joinStream', { type: 'InsufficientEscrow', needed: 1_000_000n, available: 0n }, 'x (needed 1000000, available 0)');
    expect(errorSentence(e)).toBe('Your deposit does not cover one second at this rate (needed: 0.000001 UNIT, available: 0 UNIT).');
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
