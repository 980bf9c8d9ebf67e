/**
 * What the discover and watch pages read about streams: registry entries joined with the rate a watch
 * beginning now would agree to. The rates of a whole list come from one `tick_stream.rates` read per
 * page of ids, never one read per stream: the discover page re-reads every few seconds, and per-stream
 * dry runs times many streams times a few visitors saturate a chain. Who is watching comes from the
 * media server (presence.ts), not from here. Pure filtering (category, search) is in discover.ts.
 */
import type { PricePlan } from '$typechain/pricing_engine.ts';
import type { Profile } from '$typechain/stream_registry.ts';
import type { Contracts } from './connection.ts';
import { READER } from './connection.ts';

export interface StreamRow {
  id: bigint;
  title: string;
  description: string;
  category: string;
  creator: string;
  live: boolean;
  /** Rate a watch beginning now agrees to, plancks per second; null without a price plan. */
  ratePerSecond: bigint | null;
  /** The creator's profile (name, avatar) as the creator set it in the registry; null: none set. */
  profile: Profile | null;
}

type Listing = Omit<StreamRow, 'ratePerSecond' | 'profile'>;

/** The registry's page size limit (stream_registry MAX_PAGE). */
export const PAGE = 50;

/** Most stream ids one `tick_stream.rates` read takes (tick_stream MAX_RATES). */
export const MAX_RATES = 200;

/** Most accounts one `stream_registry.profiles` read takes (stream_registry MAX_PROFILES). */
export const MAX_PROFILES = 200;

/** The newest `newest` streams (pages of PAGE ids), each with its price. */
export async function loadStreams(c: Contracts, newest = 200): Promise<StreamRow[]> {
  const count = (await c.registry.query.streamCount(READER)).value;
  const first = count > BigInt(newest) ? count - BigInt(newest) + 1n : 1n;
  const pages: Promise<{ value: Listing[] }>[] = [];
  for (let id = first; id <= count; id += BigInt(PAGE)) pages.push(c.registry.query.listStreams(READER, id, PAGE));
  const streams = (await Promise.all(pages)).flatMap((p) => p.value);
  const [rates, profiles] = await Promise.all([ratesOf(c, streams.map((s) => s.id)), profilesOf(c, streams.map((s) => s.creator))]);
  return streams.map((s, i) => row(s, rates[i], profiles.get(s.creator)));
}

/** One stream with its price plan, or null if the registry has no such stream. */
export async function loadStream(c: Contracts, id: bigint): Promise<(StreamRow & { plan: PricePlan | null }) | null> {
  const s = (await c.registry.query.getStream(READER, id)).value;
  if (!s) return null;
  const [[rate], plan, profile] = await Promise.all([ratesOf(c, [id]), c.pricing.query.pricePlan(READER, id), c.registry.query.profileOf(READER, s.creator)]);
  return { ...row(s, rate, profile.value), plan: plan.value };
}

/** The profiles of `accounts` that set one, by address: one dry run per MAX_PROFILES distinct accounts. */
export async function profilesOf(c: Contracts, accounts: string[]): Promise<Map<string, Profile>> {
  const distinct = [...new Set(accounts)];
  const chunks: string[][] = [];
  for (let i = 0; i < distinct.length; i += MAX_PROFILES) chunks.push(distinct.slice(i, i + MAX_PROFILES));
  const answers = await Promise.all(chunks.map((chunk) => c.registry.query.profiles(READER, chunk)));
  const found = new Map<string, Profile>();
  answers.forEach((a, i) => a.value.forEach((p, j) => p && found.set(chunks[i][j], p)));
  return found;
}

/**
 * The rate a watch beginning now agrees to for each of `ids`, in their order (null: no price plan, or
 * the rate cannot be computed): one dry run per MAX_RATES ids.
 */
export async function ratesOf(c: Contracts, ids: bigint[]): Promise<(bigint | null)[]> {
  const chunks: bigint[][] = [];
  for (let i = 0; i < ids.length; i += MAX_RATES) chunks.push(ids.slice(i, i + MAX_RATES));
  const answers = await Promise.all(chunks.map((chunk) => c.ticks.query.rates(READER, chunk)));
  return answers.flatMap((a) => a.value.map((r) => ('ok' in r ? r.ok : null)));
}

function row(s: Listing, ratePerSecond: bigint | null | undefined, profile: Profile | null | undefined): StreamRow {
  return { id: s.id, title: s.title, description: s.description, category: s.category, creator: s.creator, live: s.live, ratePerSecond: ratePerSecond ?? null, profile: profile ?? null };
}
