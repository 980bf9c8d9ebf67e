import { describe, expect, it } from 'vitest';
import { TabStorage } from './tab-storage.ts';

/** A Storage held in memory (the browser's localStorage / sessionStorage API). */
function memory(): Storage {
  const m = new Map<string, string>();
  return {
    get length() {
      return m.size;
    },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: (i) => [...m.keys()][i] ?? null,
    removeItem: (k) => void m.delete(k),
    setItem: (k, v) => void m.set(k, String(v)),
  };
}

describe("what this browser keeps of a viewer's tab", () => {
  const SEED = `0x${'11'.repeat(32)}` as const;

  it('keeps the key and counts per contract, viewer and tab, so a reload goes on (and another viewer sees none of it)', () => {
    const local = memory();
    let viewer = 'alice';
    const s = new TabStorage(() => ({ contract: '5Ticks', viewer }), () => local, memory);
    s.saveTab(7n, { seed: SEED, nextWatch: 2 });
    s.saveClaims(7n, [{ watch: 1, streamId: 3n, ratePerSecond: 1_000_000n, ticks: 42n }]);
    const again = new TabStorage(() => ({ contract: '5Ticks', viewer: 'alice' }), () => local, memory);
    expect(again.tab(7n)).toMatchObject({ seed: SEED, nextWatch: 2 });
    expect(again.claims(7n)).toEqual([{ watch: 1, streamId: 3n, ratePerSecond: 1_000_000n, ticks: 42n }]);
    viewer = 'bob';
    expect(s.tab(7n)).toBeNull();
    expect(new TabStorage(() => ({ contract: '5Other', viewer: 'alice' }), () => local, memory).tab(7n)).toBeNull();
  });

  it('keeps no counts for a tab whose key it does not hold, and forgets a finished tab', () => {
    const s = new TabStorage(() => ({ contract: 'c', viewer: 'v' }), memory, memory);
    s.saveClaims(1n, [{ watch: 0, streamId: 1n, ratePerSecond: 1n, ticks: 1n }]);
    expect(s.tab(1n)).toBeNull();
    s.saveTab(1n, { seed: SEED, nextWatch: 0 });
    s.forget(1n);
    expect(s.claims(1n)).toEqual([]);
  });

  it('reads a record that is not its own (malformed, another shape) as none', () => {
    const local = memory();
    const s = new TabStorage(() => ({ contract: 'c', viewer: 'v' }), () => local, memory);
    local.setItem('vilo:tab:c:v:1', '{not json');
    local.setItem('vilo:tab:c:v:2', JSON.stringify({ seed: 5, nextWatch: 'x' }));
    expect([s.tab(1n), s.tab(2n)]).toEqual([null, null]);
  });

  it('keeps the watch of this browser tab only, and clears the one it set', () => {
    const session = memory();
    let viewer = 'alice';
    const s = new TabStorage(() => ({ contract: 'c', viewer }), memory, () => session);
    s.setWatching(9n, 4);
    expect(s.watching()).toEqual({ streamId: '9', watch: 4 });
    expect(new TabStorage(() => ({ contract: 'c', viewer: 'alice' }), memory, memory).watching()).toBeNull(); // another browser tab
    viewer = 'bob'; // signed out meanwhile: the watch kept for alice is still the one cleared
    s.clearWatching();
    viewer = 'alice';
    expect(s.watching()).toBeNull();
  });
});
