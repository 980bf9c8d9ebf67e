/**
 * What the media server's endpoints share (server.ts makes one): the payment gate and the relay, the
 * media plane in use (the werift SFU, or LiveKit), the stores, and the small helpers every endpoint
 * needs to read a request. Each endpoint lives in routes/ and gets this.
 */
import type { HlsAudience } from './audience.ts';
import type { TabChain, TabSettler } from './chain.ts';
import { readBody } from './http.ts';
import type { LiveKitGate, LiveKitPlane, LiveRooms } from './livekit/plane.ts';
import type { Metrics } from './metrics.ts';
import type { Admission } from './publishers.ts';
import { Refusal } from '../refusals.ts';
import type { Broadcast, Sfu, SfuOptions, Viewer } from './sfu.ts';
import type { Store } from './store.ts';
import type { TabGate } from './tab-gate.ts';
import type { TabRelay } from './tab-relay.ts';
import type { TabStore } from './tab-store.ts';
import type { Thumbnails } from './thumbnails.ts';

export interface MediaServerDeps {
  /** Tabs, streams, rates and subscriptions as the chain holds them. */
  chain: TabChain;
  /** Absent: tab vouchers are checked and stored but not settled (tests, read-only nodes). */
  settler?: TabSettler;
  store: Store;
  settleIntervalMs?: number;
  /** When the tab relay settles (defaults: tab-settlement.ts). */
  tabPolicy?: { quietMs?: number; minOwed?: bigint };
  /** Requests per second per client IP and the burst allowed (token bucket). */
  rateLimit?: { perSecond: number; burst: number };
  sfu?: SfuOptions;
  /** How often the gate re-decides each viewer, ms. */
  gateIntervalMs?: number;
  /** How often the LiveKit rooms are swept for viewers without a paid watch (ms, default 10 s; the webhook acts at once). */
  livekitSweepMs?: number;
  freshMs?: number;
  /** How long the gate trusts its last reading of a tab while the chain does not answer (default 60 s). */
  coverageTrustMs?: number;
  /** Thumbnails taken from the live video (absent: none). */
  thumbnails?: Thumbnails;
  /** Where RTMP ingest writes a stream's HLS files (absent: RTMP/HLS off). */
  hlsDir?: (streamId: bigint) => string;
  /**
   * An HTTP edge serving the same HLS files to signed URLs (hls-edge.ts): POST
   * /api/streams/:id/hls-edge gives a paying watch a prefix good for `ttlSec`. `publicUrl`: the
   * edge's origin as viewers reach it (absent: the request's host name on `port`).
   */
  hlsEdge?: { port: number; secret: string; ttlSec: number; publicUrl?: string };
  /**
   * The media plane on LiveKit (livekit/plane.ts). Set: WHIP offers go to LiveKit with a token this
   * server mints after the stream-key check, viewers get a LiveKit token from POST
   * /api/streams/:id/watch after the payment checks, and the gate revokes and grants their
   * subscriptions; the werift SFU serves nothing. Absent: the werift SFU is the plane.
   */
  livekit?: { plane: LiveKitPlane; publicUrl?: string };
  log?: (line: string) => void;
}

/** The LiveKit plane as the endpoints use it. */
export interface LiveKitContext {
  plane: LiveKitPlane;
  publicUrl?: string;
  rooms: LiveRooms;
  gate: LiveKitGate;
  /** WHIP resources on LiveKit: our resource id → LiveKit's resource URL, the token that opened it, how it was let in. */
  publishers: Map<string, { streamId: bigint; location: string; token: string; admittedBy: Admission }>;
  /** Per stream: how the last publisher let into its room got in (the room has one `publisher` identity). */
  lastAdmission: Map<string, Admission>;
}

export interface MediaContext {
  deps: MediaServerDeps;
  metrics: Metrics;
  tabStore: TabStore;
  tabGate: TabGate;
  tabRelay: TabRelay;
  sfu: Sfu;
  hlsAudience: HlsAudience;
  /** Set when LiveKit is the media plane. */
  lk?: LiveKitContext;
  /** How many watch a stream now: the plane's viewers (not the control plane's own subscribers) and HLS's. */
  viewers(streamId: bigint): number;
  /** Re-decides one werift viewer now (after a voucher), instead of at the next gate round. */
  decide(v: Viewer): void;
  /** A stream's broadcast state: the plane's (WHIP) and the RTMP ingest's together. */
  broadcast(streamId: bigint, now: number): { state: Broadcast; plane: Broadcast; hls: Broadcast };
  log(line: string): void;
}

export const MAX_SDP_BYTES = 32 * 1024;
export const MAX_JSON_BYTES = 4 * 1024;

/** A path's stream id (decimal, below 2^64); 404 StreamNotFound otherwise. */
export function streamIdOf(s: string): bigint {
  if (!/^[0-9]{1,20}$/.test(s) || BigInt(s) >= 1n << 64n) throw new Refusal('StreamNotFound', `"${s}" is not a stream id`);
  return BigInt(s);
}

/** An SDP offer or answer sent as application/sdp (415 otherwise; 413 past MAX_SDP_BYTES). */
export async function sdpBody(req: Request): Promise<string> {
  const type = (req.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/sdp') throw new Refusal('UnsupportedMediaType', 'the offer must be sent as application/sdp');
  return readBody(req, MAX_SDP_BYTES);
}

/** A JSON body of at most MAX_JSON_BYTES; `refusal` names what a body that is not JSON gets. */
export async function jsonBody(req: Request, refusal: 'BadRequest' | 'MalformedVoucher' = 'BadRequest'): Promise<unknown> {
  const text = await readBody(req, MAX_JSON_BYTES);
  try {
    return JSON.parse(text);
  } catch {
    throw new Refusal(refusal, 'the body is not JSON');
  }
}
