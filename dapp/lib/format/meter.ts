/**
 * The runway: how long a viewer's tab lasts at a watch's rate. Between settlements the browser knows
 * what its watches signed and the relay has not settled (TabState.locked), so
 *   available = balance − Σ_w r_w · (T_w − n_w)      (never below zero)
 *   runway    = ⌊available / rate⌋ seconds          (unbounded for a zero rate)
 */
import { formatClock, formatDuration } from './money.ts';

/** Suggested tab deposit (or top-up) for `minutes` of watching at `ratePerSecond`, plancks. */
export function depositFor(ratePerSecond: bigint, minutes: bigint): bigint {
  return ratePerSecond * 60n * minutes;
}

/** "your tab lasts 12:30 more at this rate": what a tab's available balance buys of one watch. */
export function tabRunwayText(availablePlancks: bigint, ratePerSecond: bigint): string {
  if (ratePerSecond === 0n) return 'no per-second charge: your tab is not used';
  const seconds = availablePlancks / ratePerSecond;
  if (seconds === 0n) return 'your tab is used up';
  return `your tab lasts ${seconds >= 3600n * 24n ? formatDuration(seconds) : formatClock(seconds)} more at this rate`;
}
