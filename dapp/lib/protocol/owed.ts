/**
 * The tab's coverage rule, shared by the media server's gate and the browser's ticker (so the browser
 * never signs a second the gate would refuse). Free of crypto imports: every page loads it.
 */

/** Per watch: the highest count signed and its rate. */
export type Signed = ReadonlyMap<number, { ticks: bigint; ratePerSecond: bigint }>;

/**
 * Plancks a tab's watches may still charge, `Σ_w r_w · (T_w − n_w)` (T_w the highest count signed,
 * n_w what the chain has settled; a watch below `nextWatch` the tab no longer holds was retired and
 * owes nothing) — what the media server's gate holds against the tab's balance, and what the
 * browser checks before signing a second further.
 */
export function owed(tab: { nextWatch: number; watches: readonly { number: number; settled: bigint }[] }, signed: Signed): bigint {
  let total = 0n;
  for (const [watch, s] of signed) {
    const onChain = tab.watches.find((w) => w.number === watch);
    if (!onChain && watch < tab.nextWatch) continue; // retired on chain: settled in full
    const settled = onChain?.settled ?? 0n;
    if (s.ticks > settled) total += s.ratePerSecond * (s.ticks - settled);
  }
  return total;
}
