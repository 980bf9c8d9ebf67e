/**
 * What this browser keeps of a viewer's tab, so that a reload or another page goes on with it:
 * - per contract, viewer and tab (localStorage): the session key's seed, the next watch number, and
 *   the watches the last accepted voucher carried with their counts;
 * - per browser tab (sessionStorage): the watch it is on now (another browser tab watches on its own).
 * A record that is not ours (malformed, another shape) reads as none.
 */
import type { Claim } from '../protocol/tab.ts';

export interface StoredClaim {
  watch: number;
  streamId: string;
  ratePerSecond: string;
  ticks: string;
}

export interface StoredTab {
  seed: `0x${string}`;
  /** The next watch number to use. */
  nextWatch: number;
  /** The watches the last accepted voucher carried, with their counts (a reload carries them on). */
  claims?: StoredClaim[];
}

export class TabStorage {
  #watchingKeyNow: string | null = null;

  constructor(
    /** The contract (tick_stream's address) and the viewer the records belong to now. */
    private readonly owner: () => { contract: string; viewer: string },
    private readonly local: () => Storage = () => localStorage,
    private readonly session: () => Storage = () => sessionStorage,
  ) {}

  tab(tabId: bigint): StoredTab | null {
    try {
      const s = JSON.parse(this.local().getItem(this.#tabKey(tabId)) ?? 'null') as StoredTab | null;
      return s && typeof s.seed === 'string' && Number.isInteger(s.nextWatch) ? s : null;
    } catch {
      return null;
    }
  }

  saveTab(tabId: bigint, s: StoredTab): void {
    this.local().setItem(this.#tabKey(tabId), JSON.stringify(s));
  }

  /** Keeps the watches an accepted voucher carried (only for a tab whose key is kept here). */
  saveClaims(tabId: bigint, claims: Claim[]): void {
    const s = this.tab(tabId);
    if (!s) return;
    this.saveTab(tabId, { ...s, claims: claims.map((x) => ({ watch: x.watch, streamId: x.streamId.toString(), ratePerSecond: x.ratePerSecond.toString(), ticks: x.ticks.toString() })) });
  }

  /** The claims kept for `tabId`, as the ticker carries them. */
  claims(tabId: bigint): Claim[] {
    return (this.tab(tabId)?.claims ?? []).map((x) => ({ watch: x.watch, streamId: BigInt(x.streamId), ratePerSecond: BigInt(x.ratePerSecond), ticks: BigInt(x.ticks) }));
  }

  forget(tabId: bigint): void {
    this.local().removeItem(this.#tabKey(tabId));
  }

  /** The watch this browser tab was on, if any. */
  watching(): { streamId: string; watch: number } | null {
    try {
      const w = JSON.parse(this.session().getItem(this.#watchingKey()) ?? 'null') as { streamId?: unknown; watch?: unknown } | null;
      return w && typeof w.streamId === 'string' && Number.isInteger(w.watch) ? { streamId: w.streamId, watch: w.watch as number } : null;
    } catch {
      return null;
    }
  }

  setWatching(streamId: bigint, watch: number): void {
    this.session().setItem(this.#watchingKey(), JSON.stringify({ streamId: streamId.toString(), watch }));
  }

  /** Forgets the watch this browser tab was on (the one last kept, whoever is signed in now). */
  clearWatching(): void {
    if (this.#watchingKeyNow) this.session().removeItem(this.#watchingKeyNow);
  }

  #tabKey(tabId: bigint): string {
    const o = this.owner();
    return `vilo:tab:${o.contract}:${o.viewer}:${tabId}`;
  }

  #watchingKey(): string {
    const o = this.owner();
    return (this.#watchingKeyNow = `vilo:tab-watching:${o.contract}:${o.viewer}`);
  }
}
