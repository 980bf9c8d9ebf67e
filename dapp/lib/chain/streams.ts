/**
 * What the discover and watch pages read about streams: registry entries joined with their price and
 * live viewer count. Pure filtering (category, search) is separate and tested on its own.
 */
import type { PricePlan } from '$typechain/pricing_engine.ts';
import type { Contracts } from './connection.ts';
import { READER } from './connection.ts';

export interface StreamRow {
  id: bigint;
  title: string;
  description: string;
  category: string;
  creator: string;
  live: boolean;
  /** Open sessions (tick_stream.live_viewers). */
  viewers: number;
  /** Rate a viewer joining now would lock, plancks per second; null without a price plan. */
  ratePerSecond: bigint | null;
}

/** The registry's page size limit (stream_registry MAX_PAGE). */
export const PAGE = 50;

/** The newest `newest` streams (pages of PAGE ids), each with its viewers and price. */
export async function loadStreams(c: Contracts, newest = 200): Promise<StreamRow[]> {
  const count = (await c.registry.query.streamCount(READER)).value;
  const first = count > BigInt(newest) ? count - BigInt(newest) + 1n : 1n;
  const pages: Promise<{ value: Parameters<typeof streamRow>[1][] }>[] = [];
  for (let id = first; id <= count; id += BigInt(PAGE)) pages.push(c.registry.query.listStreams(READER, id, PAGE));
  const streams = (await Promise.all(pages)).flatMap((p) => p.value);
  return Promise.all(streams.map((s) => streamRow(c, s)));
}

async function streamRow(c: Contracts, s: { id: bigint; title: string; description: string; category: string; creator: string; live: boolean }): Promise<StreamRow> {
  const viewers = (await c.ticks.query.liveViewers(READER, s.id)).value;
  let ratePerSecond: bigint | null = null;
  try {
    ratePerSecond = (await c.pricing.query.rateFor(READER, s.id, false, viewers)).value;
  } catch {
    ratePerSecond = null; // no price plan yet
  }
  return { id: s.id, title: s.title, description: s.description, category: s.category, creator: s.creator, live: s.live, viewers, ratePerSecond };
}

export async function loadStream(c: Contracts, id: bigint): Promise<(StreamRow & { plan: PricePlan | null }) | null> {
  const s = (await c.registry.query.getStream(READER, id)).value;
  if (!s) return null;
  const [row, plan] = await Promise.all([streamRow(c, s), c.pricing.query.pricePlan(READER, id)]);
  return { ...row, plan: plan.value };
}
