/**
 * The media server as one framework-free handler: `handle(request, clientIp)` answers the media
 * paths (WHIP, WHEP, vouchers, stream keys, media status, metrics) and returns null for anything
 * else. dapp/hooks.server.ts makes one instance and routes to it; unit tests call it directly.
 *
 *   POST   /whip/:streamId              Bearer <stream key>, application/sdp → 201 answer + Location
 *   DELETE /whip/:streamId/:resource
 *   POST   /whep/:streamId              X-Vilo-Viewer, X-Vilo-Session, Authorization: Voucher … → 201
 *   DELETE /whep/:streamId/:resource
 *   POST   /api/vouchers                JSON voucher → 202 {cumulativeTicks, settledTicks}
 *   POST   /api/streams/:streamId/key   creator's signed request → 201 {streamKey}
 *   GET    /api/streams/:streamId/media → {live, viewers (WHEP + HLS), hls}
 *   GET    /hls/:streamId/:file         (RTMP streams) same headers as WHEP → playlist / fragment
 *   GET    /metrics                     Prometheus text
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyWalletSignature } from '../signature.ts';
import { fromWire, parseVoucherAuthorization, WireError } from '../../media/wire.ts';
import type { ChainReader, ChainSettler } from './chain.ts';
import { HlsAudience } from './audience.ts';
import { Gate } from './gate.ts';
import { HttpError, TokenBuckets, errorResponse, json, readBody } from './http.ts';
import { Metrics } from './metrics.ts';
import { Relay } from './relay.ts';
import { Sfu, SdpError, type SfuOptions, type Viewer } from './sfu.ts';
import type { Store } from './store.ts';

export interface MediaServerDeps {
  chain: ChainReader;
  /** Absent: vouchers are checked and stored but not settled (tests, read-only nodes). */
  settler?: ChainSettler;
  store: Store;
  settleIntervalMs?: number;
  /** The relay settles a session once this many ticks are unsettled, or when its vouchers stop (default 1). */
  settleMinTicks?: bigint;
  /** Requests per second per client IP and the burst allowed (token bucket). */
  rateLimit?: { perSecond: number; burst: number };
  sfu?: SfuOptions;
  /** How often the gate re-decides each viewer, ms. */
  gateIntervalMs?: number;
  freshMs?: number;
  /** How long the gate trusts its last coverage reading while the chain does not answer (default 60 s). */
  coverageTrustMs?: number;
  /** Where RTMP ingest writes a stream's HLS files (absent: RTMP/HLS off). */
  hlsDir?: (streamId: bigint) => string;
  log?: (line: string) => void;
}

export const MAX_SDP_BYTES = 32 * 1024;
export const MAX_JSON_BYTES = 4 * 1024;
/** How long a creator's signed key request stays valid. */
export const KEY_REQUEST_TTL_MS = 5 * 60_000;

/** An HLS viewer counts as watching this long after their last playlist or fragment request. */
const HLS_VIEWER_WINDOW_MS = 10_000;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function createMediaServer(deps: MediaServerDeps) {
  const metrics = new Metrics();
  // Entitlements are re-read every 2 s in the background: on the local chopsticks chain each contract
  // read runs the runtime in Wasm, and with several viewers a 1 s refresh saturated it. A reading is
  // trusted for 60 s while the chain is slow (gate.ts): only top-ups, withdrawals and leaving move
  // the bound, so this delays noticing those, not the 2 s cut-off when vouchers stop or the coverage
  // read is used up.
  const gate = new Gate(deps.chain, { freshMs: deps.freshMs ?? 1_500, refreshMs: 2_000, coverageTrustMs: deps.coverageTrustMs ?? 60_000 });
  const relay = new Relay({
    chain: deps.chain,
    settler: deps.settler,
    store: deps.store,
    gate,
    metrics,
    intervalMs: deps.settleIntervalMs ?? 10_000,
    minTicks: deps.settleMinTicks,
    log: deps.log,
    onSettled: () => (deps.chain as Partial<{ invalidate(): void }>).invalidate?.(),
  });
  const sfu = new Sfu({
    maxSdpBytes: MAX_SDP_BYTES,
    ...deps.sfu,
    onForward: (n) => {
      metrics.bytesForwarded += n;
      deps.sfu?.onForward?.(n);
    },
  });
  const hlsAudience = new HlsAudience(HLS_VIEWER_WINDOW_MS);
  const limits = new TokenBuckets(deps.rateLimit?.perSecond ?? 20, deps.rateLimit?.burst ?? 60);
  relay.start();

  // The gate loop: re-decide every viewer; media flows only to the open ones.
  const decideAll = () => {
    for (const v of sfu.viewers()) decide(v);
  };
  const decide = (v: Viewer) => {
    const d = gate.decideNow(v.streamId, v.viewer, v.sessionId);
    if (!d.open && v.open) {
      metrics.deny(d.reason);
      deps.log?.(`[gate] media to ${v.viewer} on stream ${v.streamId} stopped: ${d.message}`);
    }
    sfu.setOpen(v, d.open);
  };
  const gateTimer = setInterval(decideAll, deps.gateIntervalMs ?? 250);

  function streamIdOf(s: string): bigint {
    if (!/^[0-9]{1,20}$/.test(s) || BigInt(s) >= 1n << 64n) throw new HttpError(404, 'StreamNotFound', `"${s}" is not a stream id`);
    return BigInt(s);
  }

  function checkKey(streamId: bigint, auth: string | null): void {
    const m = /^Bearer (\S{1,512})$/.exec(auth ?? '');
    const stored = deps.store.keyHash(streamId);
    const ok = !!m && !!stored && timingSafeEqual(Buffer.from(sha256(m[1]), 'hex'), Buffer.from(stored.keySha256, 'hex'));
    if (!ok) throw new HttpError(401, 'Unauthorized', 'publishing needs the stream key as "Authorization: Bearer <key>"');
  }

  async function sdpBody(req: Request): Promise<string> {
    const type = (req.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/sdp') throw new HttpError(415, 'UnsupportedMediaType', 'the offer must be sent as application/sdp');
    return readBody(req, MAX_SDP_BYTES);
  }

  async function whip(req: Request, streamId: bigint): Promise<Response> {
    checkKey(streamId, req.headers.get('authorization'));
    const offer = await sdpBody(req);
    const { publisher, answer } = await sfu.publish(streamId, offer);
    deps.log?.(`[whip] stream ${streamId}: publisher ${publisher.id} connected (${Object.values(publisher.codecs).map((c) => c?.mimeType).join(', ')})`);
    return new Response(answer, {
      status: 201,
      headers: { 'Content-Type': 'application/sdp', Location: `/whip/${streamId}/${publisher.id}` },
    });
  }

  /**
   * Admits a viewer's request for media of `streamId` (WHEP offer or HLS file): the viewer, the
   * session and a fresh voucher in the headers, checked and accepted by the relay, and the gate open.
   * `ready` runs once the request is known to be well-formed (WHEP: the stream is live, the offer read).
   */
  async function admit<T>(req: Request, streamId: bigint, ready: () => Promise<T>): Promise<{ viewer: string; sessionId: bigint; value: T }> {
    const arrivedAt = Date.now();
    const viewer = req.headers.get('x-vilo-viewer') ?? '';
    const sessionHeader = req.headers.get('x-vilo-session') ?? '';
    if (!/^[0-9]{1,20}$/.test(sessionHeader)) throw new HttpError(400, 'BadRequest', 'X-Vilo-Session must be the session id (a decimal number)');
    const sessionId = BigInt(sessionHeader);
    const storedAtArrival = relay.latestTicks(streamId, viewer, sessionId);
    let stream;
    try {
      stream = await deps.chain.stream(streamId);
    } catch (e) {
      throw new HttpError(503, 'ChainUnavailable', `the chain cannot be read, so nothing is served: ${(e as Error).message}`);
    }
    if (!stream) throw new HttpError(404, 'StreamNotFound', `there is no stream ${streamId}`);
    if (!req.headers.get('authorization')) throw new HttpError(402, 'NotPaying', 'playback needs "Authorization: Voucher <latest signed voucher>"');
    let signed;
    try {
      signed = parseVoucherAuthorization(req.headers.get('authorization'));
    } catch (e) {
      throw new HttpError(400, 'MalformedVoucher', (e as Error).message);
    }
    const v = signed.voucher;
    if (v.streamId !== streamId || v.viewer !== viewer || v.sessionId !== sessionId) {
      metrics.reject('VoucherMismatch');
      throw new HttpError(403, 'VoucherMismatch', 'the voucher is for another stream, viewer or session than the request names');
    }
    if (!stream.live) throw new HttpError(404, 'NotLive', `stream ${streamId} is not broadcasting now`);
    const value = await ready();
    try {
      await relay.accept(signed, { recentWithin: 5n, storedAtArrival });
    } catch (e) {
      const h = e as HttpError;
      if (h.status === 402 || h.status === 409) throw new HttpError(402, 'NotPaying', h.message);
      throw e;
    }
    const d = await gate.decide(streamId, viewer, sessionId, arrivedAt);
    if (!d.open) throw new HttpError(402, 'NotPaying', d.message);
    return { viewer, sessionId, value };
  }

  async function whep(req: Request, streamId: bigint): Promise<Response> {
    const { viewer, sessionId, value: offer } = await admit(req, streamId, async () => {
      if (!sfu.publisher(streamId)) throw new HttpError(404, 'NotLive', `stream ${streamId} is not broadcasting now`);
      return sdpBody(req);
    });
    const { viewer: conn, answer } = await sfu.view(streamId, viewer, sessionId, offer);
    // One connection per session: a second one (a reload, or someone replaying this viewer's voucher)
    // replaces the first, so one payment never feeds two screens.
    for (const other of sfu.viewers(streamId)) {
      if (other !== conn && other.viewer === viewer && other.sessionId === sessionId) await sfu.leave(other);
    }
    sfu.setOpen(conn, true);
    deps.log?.(`[whep] stream ${streamId}: viewer ${viewer} (session ${sessionId}) connected`);
    return new Response(answer, {
      status: 201,
      headers: { 'Content-Type': 'application/sdp', Location: `/whep/${streamId}/${conn.id}` },
    });
  }

  /** GET /hls/:streamId/:file — an RTMP stream's playlist or fragment, to a paying viewer only. */
  async function hlsFile(req: Request, streamId: bigint, file: string): Promise<Response> {
    const dir = deps.hlsDir?.(streamId);
    if (!dir) throw new HttpError(404, 'NotLive', 'RTMP ingest and HLS are not running on this server (VILO_RTMP_PORT unset, or nginx failed to start: see the server log)');
    if (!/^(index\.m3u8|[0-9]{1,12}\.ts)$/.test(file)) throw new HttpError(404, 'NoSuchFile', `no HLS file "${file}"`);
    const { viewer, sessionId, value: body } = await admit(req, streamId, async () => {
      try {
        return await readFile(join(dir, file));
      } catch {
        throw new HttpError(404, 'NotLive', `stream ${streamId} has no HLS ${file === 'index.m3u8' ? 'playlist' : 'fragment ' + file} now`);
      }
    });
    metrics.bytesForwarded += body.length;
    hlsAudience.saw(streamId, viewer, sessionId);
    return new Response(body, {
      status: 200,
      headers: {
        'Content-Type': file.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t',
        'Cache-Control': 'no-store',
      },
    });
  }

  async function postVoucher(req: Request): Promise<Response> {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, MAX_JSON_BYTES));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(400, 'MalformedVoucher', 'the body is not JSON');
    }
    let signed;
    try {
      signed = fromWire(body);
    } catch (e) {
      throw new HttpError(400, 'MalformedVoucher', (e as WireError).message);
    }
    const r = await relay.accept(signed);
    // Reopen this viewer's media at once instead of at the next gate round.
    const { streamId, viewer, sessionId } = signed.voucher;
    for (const c of sfu.viewers(streamId)) if (c.viewer === viewer && c.sessionId === sessionId && !c.open) decide(c);
    return json(202, { cumulativeTicks: r.cumulativeTicks.toString(), settledTicks: r.settledTicks.toString() });
  }

  async function newKey(req: Request, streamId: bigint): Promise<Response> {
    let body: { address?: unknown; timestamp?: unknown; signature?: unknown };
    try {
      body = JSON.parse(await readBody(req, MAX_JSON_BYTES));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(400, 'BadRequest', 'the body is not JSON');
    }
    const { address, timestamp, signature } = body ?? {};
    if (typeof address !== 'string' || typeof signature !== 'string' || typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp)) {
      throw new HttpError(400, 'BadRequest', 'send {address, timestamp (ms), signature}');
    }
    if (Math.abs(Date.now() - timestamp) > KEY_REQUEST_TTL_MS) {
      throw new HttpError(401, 'ExpiredRequest', 'the signed request is older than 5 minutes (or from the future): sign a new one');
    }
    if (!(await verifyWalletSignature(address, `vilokanam:stream-key:${streamId}:${timestamp}`, signature))) {
      throw new HttpError(401, 'BadSignature', `the signature is not ${address}'s signature of "vilokanam:stream-key:${streamId}:${timestamp}"`);
    }
    let stream;
    try {
      stream = await deps.chain.stream(streamId);
    } catch (e) {
      throw new HttpError(503, 'ChainUnavailable', `the chain cannot be read: ${(e as Error).message}`);
    }
    if (!stream) throw new HttpError(404, 'StreamNotFound', `there is no stream ${streamId}`);
    if (stream.creator !== address) throw new HttpError(403, 'NotCreator', `${address} is not the creator of stream ${streamId}`);
    const prev = deps.store.keyHash(streamId);
    if (prev && timestamp <= prev.requestTsMs) throw new HttpError(401, 'ReplayedRequest', 'this signed request was already used: sign a new one');
    const streamKey = `vk_${randomBytes(24).toString('base64url')}`;
    deps.store.setKeyHash(streamId, sha256(streamKey), timestamp);
    deps.log?.(`[keys] stream ${streamId}: new stream key issued`);
    return json(201, { streamKey });
  }

  async function route(req: Request, ip: string): Promise<Response | null> {
    const url = new URL(req.url);
    const p = url.pathname.split('/').filter(Boolean);
    const m = req.method;
    const media = p[0] === 'whip' || p[0] === 'whep';
    const api = p[0] === 'api' && (p[1] === 'vouchers' || p[1] === 'streams');
    const hls = p[0] === 'hls';
    if (url.pathname === '/metrics' && m === 'GET') {
      const viewers = sfu.viewers();
      return new Response(metrics.render({ publishers: sfu.publisherCount, viewers: viewers.length, viewersOpen: viewers.filter((v) => v.open).length, hlsViewers: hlsAudience.count() }), {
        headers: { 'Content-Type': 'text/plain; version=0.0.4' },
      });
    }
    if (!media && !api && !hls) return null;
    if (api && p[1] === 'streams' && !(p.length === 4 && (p[3] === 'key' || p[3] === 'media'))) return null;
    if (!limits.take(ip)) throw new HttpError(429, 'TooManyRequests', 'too many requests from this address: slow down');
    if (media && p.length === 2 && m === 'POST') return p[0] === 'whip' ? whip(req, streamIdOf(p[1])) : whep(req, streamIdOf(p[1]));
    if (media && p.length === 3 && m === 'DELETE') {
      const id = streamIdOf(p[1]);
      if (p[0] === 'whip') {
        if (!(await sfu.unpublish(id, p[2]))) throw new HttpError(404, 'NoSuchResource', 'no such publishing session');
        deps.log?.(`[whip] stream ${id}: publisher ${p[2]} left`);
      } else {
        const v = sfu.find(id, p[2]);
        if (!v) throw new HttpError(404, 'NoSuchResource', 'no such playback session');
        await sfu.leave(v);
      }
      return new Response(null, { status: 200 });
    }
    if (media && m === 'OPTIONS') return new Response(null, { status: 204, headers: { Allow: 'POST, DELETE, OPTIONS' } });
    if (hls && p.length === 3 && m === 'GET') return hlsFile(req, streamIdOf(p[1]), p[2]);
    if (api && p[1] === 'vouchers' && p.length === 2 && m === 'POST') return postVoucher(req);
    if (api && p[3] === 'key' && m === 'POST') return newKey(req, streamIdOf(p[2]));
    if (api && p[3] === 'media' && m === 'GET') {
      const id = streamIdOf(p[2]);
      const hlsDir = deps.hlsDir?.(id);
      return json(200, {
        live: !!sfu.publisher(id),
        viewers: sfu.viewers(id).length + hlsAudience.count(id),
        hls: !!hlsDir && existsSync(join(hlsDir, 'index.m3u8')),
      });
    }
    throw new HttpError(405, 'MethodNotAllowed', `${m} ${url.pathname} is not served`);
  }

  return {
    metrics,
    gate,
    relay,
    sfu,
    /** The stream a stream key publishes (RTMP ingest names only the key). */
    streamForKey: (key: string): bigint | undefined => (key.length <= 512 ? deps.store.streamForKeyHash(sha256(key)) : undefined),
    /** Answers a media request, or null when the path is not the media server's. */
    async handle(req: Request, ip = 'unknown'): Promise<Response | null> {
      try {
        return await route(req, ip);
      } catch (e) {
        if (e instanceof HttpError) {
          if (e.status === 402 || e.status === 403) {
            metrics.deny(e.name);
            // An operator asking "why is this viewer not getting video" finds the answer here.
            if (req.url.includes('/whep/') || req.url.includes('/hls/')) deps.log?.(`[play] refused ${new URL(req.url).pathname}: ${e.status} ${e.name}: ${e.message}`);
          }
          return errorResponse(e);
        }
        if (e instanceof SdpError) return errorResponse(new HttpError(400, e.name, e.message));
        deps.log?.(`[media] ${req.method} ${req.url} failed: ${(e as Error).stack ?? e}`);
        return errorResponse(new HttpError(500, 'InternalError', 'the media server failed on this request'));
      }
    },
    async close(): Promise<void> {
      clearInterval(gateTimer);
      await relay.stop();
      await sfu.close();
    },
  };
}

export type MediaServer = ReturnType<typeof createMediaServer>;
