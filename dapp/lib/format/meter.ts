/**
 * The cost meter and the runway: what a watching viewer has spent and how long their deposit lasts.
 * All on-chain money moves at settlement; between settlements the browser knows how many seconds it
 * signed for, so it subtracts them itself:
 *   spent      = ticks · rate                         (this session, settled or not)
 *   escrowLeft = escrowOnChain − (ticks − settled) · rate   (never below zero)
 *   runway     = ⌊escrowLeft / rate⌋ seconds           (unbounded for a zero rate)
 */
import { formatClock, formatDuration } from './money.ts';

/** Below this many seconds of runway the watch page warns (and suggests a top-up). */
export const LOW_RUNWAY_SECONDS = 60n;

/** The largest count the runway allows: the ticker stops signing past it. */
export const UNBOUNDED = (1n << 64n) - 1n;

export interface MeterInput {
  /** Locked rate of the session, plancks per second (0 while a subscription covers it). */
  ratePerSecond: bigint;
  /** Seconds signed for in this session (the voucher count). */
  ticks: bigint;
  /** Seconds of this session already settled on chain (and so already out of the escrow). */
  settledTicks: bigint;
  /** The viewer's escrow as the chain reports it, plancks. */
  escrowOnChain: bigint;
}

export interface Meter {
  /** Plancks this session costs so far. */
  spent: bigint;
  /** Escrow left after the unsettled seconds are paid, plancks. */
  escrowLeft: bigint;
  /** Whole seconds the escrow still pays for; UNBOUNDED at a zero rate. */
  runwaySeconds: bigint;
  /** The highest voucher count the escrow covers (the ticker's limit). */
  maxTicks: bigint;
  low: boolean;
  exhausted: boolean;
}

export function meter(m: MeterInput): Meter {
  const unsettled = m.ticks > m.settledTicks ? m.ticks - m.settledTicks : 0n;
  const spent = m.ticks * m.ratePerSecond;
  const owed = unsettled * m.ratePerSecond;
  const escrowLeft = m.escrowOnChain > owed ? m.escrowOnChain - owed : 0n;
  if (m.ratePerSecond === 0n) {
    return { spent, escrowLeft, runwaySeconds: UNBOUNDED, maxTicks: UNBOUNDED, low: false, exhausted: false };
  }
  const runwaySeconds = escrowLeft / m.ratePerSecond;
  // The escrow on chain pays for ⌊escrow / rate⌋ seconds beyond what is settled.
  const maxTicks = m.settledTicks + m.escrowOnChain / m.ratePerSecond;
  return { spent, escrowLeft, runwaySeconds, maxTicks, low: runwaySeconds <= LOW_RUNWAY_SECONDS, exhausted: runwaySeconds === 0n };
}

/** "your deposit lasts 12:30 more" and its urgency. */
export function runwayText(runwaySeconds: bigint): string {
  if (runwaySeconds === UNBOUNDED) return 'no per-second charge: your deposit is not used';
  if (runwaySeconds === 0n) return 'your deposit is used up';
  if (runwaySeconds >= 3600n * 24n) return `your deposit lasts ${formatDuration(runwaySeconds)} more`;
  return `your deposit lasts ${formatClock(runwaySeconds)} more`;
}

/** Suggested deposit for `minutes` of watching at `ratePerSecond`. */
export function depositFor(ratePerSecond: bigint, minutes: bigint): bigint {
  return ratePerSecond * 60n * minutes;
}
