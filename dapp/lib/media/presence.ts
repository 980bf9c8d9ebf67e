/**
 * Whether a stream is really on air. The registry's `live` flag is the creator's intent; only the media
 * server knows whether a publisher is sending (its packets arrived within the last 3 s). A stream is
 * shown LIVE — and may be joined — only when both say so; "reconnecting" for a minute after the
 * publisher stops, then "offline".
 */
export type Broadcast = 'live' | 'reconnecting' | 'offline';

export interface Presence {
  state: Broadcast;
  /** Viewers the media server is serving now (WHEP + HLS). */
  viewers: number;
  /** The newest picture taken from the live video (served at /thumbs/<cid>.jpg), or none yet. */
  thumbnail?: { cid: string; takenAtMs: number } | null;
}

/** Where the media server serves a thumbnail it took. */
export const thumbnailUrl = (cid: string) => `/thumbs/${cid}.jpg`;

/** What a viewer is told about a stream: the chain's intent combined with the media server's truth. */
export function onAir(chainLive: boolean, presence: Presence | undefined): Broadcast {
  if (!chainLive || !presence) return 'offline';
  return presence.state;
}

/** One sentence for a stream that is not on air, for the watch page. */
export function offAirSentence(state: Broadcast, chainLive: boolean): string {
  if (state === 'reconnecting') return 'The creator’s video stopped a moment ago: waiting for them to reconnect. Nothing is charged meanwhile.';
  if (chainLive) return 'Nobody is broadcasting on this stream right now, so you cannot join yet: nothing would play. This page updates when the creator starts sending.';
  return 'This stream is offline; come back when it is live.';
}

/** The media server's view of several streams at once (the discover page). */
export async function fetchPresence(ids: bigint[], fetcher: typeof fetch = fetch): Promise<Map<bigint, Presence>> {
  const out = new Map<bigint, Presence>();
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const res = await fetcher(`/api/media?ids=${chunk.join(',')}`);
    if (!res.ok) throw new Error(`the media server did not answer (${res.status})`);
    const body = (await res.json()) as { streams: Record<string, Presence> };
    for (const [id, p] of Object.entries(body.streams)) out.set(BigInt(id), p);
  }
  return out;
}

/** The media server's view of one stream (the watch page). */
export async function fetchStreamPresence(id: bigint, fetcher: typeof fetch = fetch): Promise<Presence & { live: boolean; hls: boolean; hlsEdge?: boolean; plane?: 'werift' | 'livekit' }> {
  const res = await fetcher(`/api/streams/${id}/media`);
  if (!res.ok) throw new Error(`the media server did not answer (${res.status})`);
  return (await res.json()) as Presence & { live: boolean; hls: boolean; hlsEdge?: boolean; plane?: 'werift' | 'livekit' };
}
