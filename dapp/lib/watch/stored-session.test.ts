import { describe, expect, it } from 'vitest';
import { parse, resumeFrom, serialize, storageKey } from './stored-session.ts';

const seed = `0x${'ab'.repeat(32)}` as const;
const pk = (s: string) => `pk-of-${s}`;

describe('stored watch session', () => {
  it('round-trips through text', () => {
    const s = { seed, sessionId: 7n, ticks: 42n };
    expect(parse(serialize(s))).toEqual(s);
  });
  it('treats malformed text as absent', () => {
    for (const t of [null, '', 'nope', '{}', JSON.stringify({ seed: '0x12', sessionId: '1', ticks: '0' }), JSON.stringify({ seed, sessionId: -1, ticks: '0' })]) {
      expect(parse(t)).toBeNull();
    }
  });
  it('is keyed by contract, stream and viewer', () => {
    expect(storageKey('C', 3n, 'V')).toBe('vilo:watch:C:3:V');
  });
  it('resumes from the higher of the stored and the settled count', () => {
    const chain = { id: 7n, sessionKey: pk(seed), ticksSettled: 10n };
    expect(resumeFrom({ seed, sessionId: 7n, ticks: 42n }, chain, pk)).toBe(42n);
    expect(resumeFrom({ seed, sessionId: 7n, ticks: 5n }, chain, pk)).toBe(10n);
  });
  it('does not resume another session or another key', () => {
    const chain = { id: 8n, sessionKey: pk(seed), ticksSettled: 0n };
    expect(resumeFrom({ seed, sessionId: 7n, ticks: 1n }, chain, pk)).toBeNull();
    expect(resumeFrom({ seed, sessionId: 8n, ticks: 1n }, { ...chain, sessionKey: 'other' }, pk)).toBeNull();
    expect(resumeFrom(null, chain, pk)).toBeNull();
    expect(resumeFrom({ seed, sessionId: 8n, ticks: 1n }, null, pk)).toBeNull();
  });
});
