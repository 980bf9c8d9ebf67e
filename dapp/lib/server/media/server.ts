/**
 * The media server as one framework-free handler: `handle(request, clientIp)` answers the media
 * paths (WHIP, WHEP, tab vouchers, stream keys, media status, metrics) and returns null for anything
 * else. dapp/hooks.server.ts makes one instance and routes to it; unit tests call it directly.
 *
 *   POST   /whip/:streamId              Bearer <stream key> or creator-signed request, application/sdp → 201 + Location
 *   DELETE /whip/:streamId/:resource
 *   POST   /whep/:streamId              X-Vilo-Tab, X-Vilo-Watch, Authorization: TabVoucher … → 201
 *   DELETE /whep/:streamId/:resource
 *   POST   /api/tab-vouchers            JSON tab voucher → 202 {watches: [{watch, streamId, ratePerSecond, ticks, settledTicks, retired}]}
 *   GET    /api/tabs/relay              → {relay} (the account a tab must name to be served here; null: none)
 *   POST   /api/streams/:streamId/key   creator's signed request → 201 {streamKey}
 *   GET    /api/streams/:streamId/key   → {issued, issuedAtMs} (whether an encoder key exists; never the key)
 *   GET    /api/streams/:streamId/media → {state, live, viewers (WHEP + HLS), hls, thumbnail}
 *   GET    /api/streams/:streamId/earnings → {pendingPlancks, watches} (signed by tabs, not yet settled: before the fee)
 *   GET    /api/media?ids=1,2,… → {streams: {id: {state, viewers, thumbnail}}} (the discover page; ≤ 200 ids)
 *   GET    /thumbs/:cid.jpg             a thumbnail taken from the live video (thumbnail = {cid, takenAtMs}; immutable)
 *   GET    /hls/:streamId/:file         (RTMP streams) same headers as WHEP → playlist / fragment
 *   GET    /metrics                     Prometheus text
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyWalletSignature } from '../signature.ts';
import type { WireError } from '../../media/wire.ts';
import { fromTabWire, parseTabVoucherAuthorization, toWireWatches } from '../../media/tab-wire.ts';
import type { TabChain, TabSettler } from './chain.ts';
import { TabGate } from './tab-gate.ts';
import { TabRelay } from './tab-relay.ts';
import { TabStore } from './tab-store.ts';
import { HlsAudience } from './audience.ts';
import { HttpError, TokenBuckets, errorResponse, json, readBody } from './http.ts';
import { Metrics } from './metrics.ts';
import { Sfu, SdpError, broadcastState, checkSdp, SILENT_MS, type Broadcast, type SfuOptions, type Viewer } from './sfu.ts';
import type { Store } from './store.ts';
import { LiveKitGate, LiveKitRefusal, LiveRooms, roomOf, viewerIdentity, type LiveKitPlane } from './livekit/plane.ts';
import type { Thumbnail, Thumbnails } from './thumbnails.ts';

export interface MediaServerDeps {
  /** Tabs, streams, rates and subscriptions as the chain holds them. */
  chain: TabChain;
  /** Absent: tab vouchers are checked and stored but not settled (tests, read-only nodes). */
  settler?: TabSettler;
  store: Store;
  settleIntervalMs?: number;
  /** When the tab relay settles (defaults: tab-relay.ts). */
  tabPolicy?: { quietMs?: number; minOwed?: bigint };
  /** Requests per second per client IP and the burst allowed (token bucket). */
  rateLimit?: { perSecond: number; burst: number };
  sfu?: SfuOptions;
  /** How often the gate re-decides each viewer, ms. */
  gateIntervalMs?: number;
  freshMs?: number;
  /** How long the gate trusts its last reading of a tab while the chain does not answer (default 60 s). */
  coverageTrustMs?: number;
  /** Thumbnails taken from the live video (absent: none). */
  thumbnails?: Thumbnails;
  /** Where RTMP ingest writes a stream's HLS files (absent: RTMP/HLS off). */
  hlsDir?: (streamId: bigint) => string;
  /**
   * The media plane on LiveKit (livekit/plane.ts). Set: WHIP offers go to LiveKit with a token this
   * server mints after the stream-key check, viewers get a LiveKit token from POST
   * /api/streams/:id/watch after the payment checks, and the gate revokes and grants their
   * subscriptions; the werift SFU serves nothing. Absent: the werift SFU (below) is the plane.
   */
  livekit?: { plane: LiveKitPlane; publicUrl?: string };
  log?: (line: string) => void;
}

export const MAX_SDP_BYTES = 32 * 1024;
export const MAX_JSON_BYTES = 4 * 1024;
/** How long a creator's signed key request stays valid. */
export const KEY_REQUEST_TTL_MS = 5 * 60_000;

/** An HLS viewer counts as watching this long after their last playlist or fragment request. */
const HLS_VIEWER_WINDOW_MS = 10_000;
/** An RTMP stream whose playlist was not rewritten for this long is not being fed. */
const HLS_SILENT_MS = 5_000;

/** Live if either ingest is live; else reconnecting if either is; else offline. */
function broadcastOf(whip: Broadcast, hls: Broadcast): Broadcast {
  if (whip === 'live' || hls === 'live') return 'live';
  return whip === 'reconnecting' || hls === 'reconnecting' ? 'reconnecting' : 'offline';
}
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function createMediaServer(deps: MediaServerDeps) {
  const metrics = new Metrics();
  const tabStore = new TabStore(deps.store.db);
  // A tab is re-read in the background every 5 s (one contract read for all its watches) and trusted
  // for 60 s while the chain is slow (tab-gate.ts); reads wait up to 10 s before counting as failed.
  const tabGate = new TabGate(deps.chain, (id) => tabStore.watches(id), {
    relayAddress: () => deps.settler?.relayAddress,
    freshMs: deps.freshMs ?? 1_500,
    trustMs: deps.coverageTrustMs ?? 60_000,
  });
  const tabRelay = new TabRelay({
    chain: deps.chain,
    settler: deps.settler,
    store: tabStore,
    gate: tabGate,
    metrics,
    intervalMs: deps.settleIntervalMs ?? 10_000,
    ...deps.tabPolicy,
    log: deps.log,
  });
  tabRelay.start();
  const sfu = new Sfu({
    maxSdpBytes: MAX_SDP_BYTES,
    ...deps.sfu,
    onForward: (n) => {
      metrics.bytesForwarded += n;
      deps.sfu?.onForward?.(n);
    },
    ...(deps.thumbnails && {
      onPublisherVideo: (id, codec, rtp) => deps.thumbnails!.onVideo(id, codec, rtp),
      onUnpublish: (id) => deps.thumbnails!.unpublished(id),
    }),
  });
  const hlsAudience = new HlsAudience(HLS_VIEWER_WINDOW_MS);
  const limits = new TokenBuckets(deps.rateLimit?.perSecond ?? 20, deps.rateLimit?.burst ?? 60);

  // The gate loop: re-decide every viewer; media flows only to the open ones.
  const decideAll = () => {
    for (const v of sfu.viewers()) decide(v);
  };
  const decide = (v: Viewer) => {
    // A tab's watch is on the SFU as viewer "tab:<id>", session = the watch number.
    const d = tabGate.decideNow(BigInt(v.viewer.slice(4)), Number(v.sessionId));
    if (!d.open && v.open) {
      metrics.deny(d.reason);
      deps.log?.(`[gate] media to ${v.viewer} on stream ${v.streamId} stopped: ${d.message}`);
    }
    sfu.setOpen(v, d.open);
  };
  const gateTimer = setInterval(decideAll, deps.gateIntervalMs ?? 250);

  // The LiveKit plane: its rooms' publishers say what is live; its gate keeps each watch's subscribe
  // permission equal to the tab gate's decision.
  const lk = deps.livekit;
  const lkLog = (what: string) => (e: Error) => deps.log?.(`[livekit] ${what} failed: ${e.message}`);
  const lkRooms = lk && new LiveRooms(lk.plane, { onError: lkLog('listing rooms') });
  const lkGate =
    lk &&
    new LiveKitGate(
      lk.plane,
      (tabId, watch) => {
        const d = tabGate.decideNow(tabId, watch);
        if (!d.open) metrics.deny(d.reason);
        return d;
      },
      { intervalMs: deps.gateIntervalMs ?? 250, onError: lkLog('a permission update') },
    );
  lkRooms?.start();
  lkGate?.start();
  /** WHIP resources on LiveKit: our resource id → LiveKit's resource URL and the token that opened it. */
  const lkPublishers = new Map<string, { streamId: bigint; location: string; token: string }>();
  /** A stream's broadcast state on the plane in use. */
  const planeBroadcast = (id: bigint, now: number): Broadcast =>
    lkRooms ? broadcastState(true, lkRooms.lastLive(id), now, SILENT_MS) : sfu.broadcast(id, now);

  function streamIdOf(s: string): bigint {
    if (!/^[0-9]{1,20}$/.test(s) || BigInt(s) >= 1n << 64n) throw new HttpError(404, 'StreamNotFound', `"${s}" is not a stream id`);
    return BigInt(s);
  }

  /** Per stream: the timestamp of the last creator-signed publish request used (each is single-use). */
  const publishRequests = new Map<string, number>();

  /**
   * Who may publish: the stream key (OBS, ffmpeg), or — for the studio's camera, so that going live
   * from the browser never replaces the key an encoder holds — a single-use request the creator's
   * wallet signed within the last 5 minutes: `Bearer creator.<address>.<timestamp>.<signature of
   * "vilokanam:publish:<stream>:<timestamp>">`.
   */
  async function checkPublisher(streamId: bigint, auth: string | null): Promise<void> {
    const m = /^Bearer (\S{1,512})$/.exec(auth ?? '');
    const signed = m && /^creator\.([1-9A-HJ-NP-Za-km-z]{40,60})\.([0-9]{1,15})\.(0x[0-9a-fA-F]{128,140})$/.exec(m[1]);
    if (signed) {
      const [, address, ts, signature] = signed;
      const timestamp = Number(ts);
      await checkCreatorRequest(streamId, address, timestamp, signature, `vilokanam:publish:${streamId}:${timestamp}`);
      if (timestamp <= (publishRequests.get(streamId.toString()) ?? 0)) {
        throw new HttpError(401, 'ReplayedRequest', 'this signed publish request was already used: sign a new one');
      }
      publishRequests.set(streamId.toString(), timestamp);
      return;
    }
    const stored = deps.store.keyHash(streamId);
    const ok = !!m && !!stored && timingSafeEqual(Buffer.from(sha256(m[1]), 'hex'), Buffer.from(stored.keySha256, 'hex'));
    if (!ok) throw new HttpError(401, 'Unauthorized', 'publishing needs the stream key as "Authorization: Bearer <key>"');
  }

  /** A request the stream's creator signed with their wallet within KEY_REQUEST_TTL_MS (throws 401/403/404/503). */
  async function checkCreatorRequest(streamId: bigint, address: string, timestamp: number, signature: string, message: string): Promise<void> {
    if (Math.abs(Date.now() - timestamp) > KEY_REQUEST_TTL_MS) {
      throw new HttpError(401, 'ExpiredRequest', 'the signed request is older than 5 minutes (or from the future): sign a new one');
    }
    if (!(await verifyWalletSignature(address, message, signature))) {
      throw new HttpError(401, 'BadSignature', `the signature is not ${address}'s signature of "${message}"`);
    }
    let stream;
    try {
      stream = await deps.chain.stream(streamId);
    } catch (e) {
      throw new HttpError(503, 'ChainUnavailable', `the chain cannot be read: ${(e as Error).message}`);
    }
    if (!stream) throw new HttpError(404, 'StreamNotFound', `there is no stream ${streamId}`);
    if (stream.creator !== address) throw new HttpError(403, 'NotCreator', `${address} is not the creator of stream ${streamId}`);
  }

  async function sdpBody(req: Request): Promise<string> {
    const type = (req.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/sdp') throw new HttpError(415, 'UnsupportedMediaType', 'the offer must be sent as application/sdp');
    return readBody(req, MAX_SDP_BYTES);
  }

  async function whip(req: Request, streamId: bigint): Promise<Response> {
    await checkPublisher(streamId, req.headers.get('authorization'));
    const offer = await sdpBody(req);
    if (lk) {
      checkSdp(offer, MAX_SDP_BYTES);
      const token = await lk.plane.publisherToken(streamId);
      const { answer, location } = await lk.plane.whip(offer, token).catch((e: Error) => {
        if (e instanceof LiveKitRefusal && e.status === 400) throw new HttpError(400, 'MalformedSdp', e.message);
        throw new HttpError(502, 'MediaPlaneUnavailable', `the media plane did not take the offer: ${e.message}`);
      });
      const resource = randomBytes(12).toString('base64url');
      lkPublishers.set(resource, { streamId, location, token });
      if (lkPublishers.size > 10_000) lkPublishers.delete(lkPublishers.keys().next().value!);
      void lkRooms!.poll();
      deps.log?.(`[whip] stream ${streamId}: publisher connected to LiveKit room ${roomOf(streamId)}`);
      return new Response(answer, { status: 201, headers: { 'Content-Type': 'application/sdp', Location: `/whip/${streamId}/${resource}` } });
    }
    const { publisher, answer } = await sfu.publish(streamId, offer);
    deps.log?.(`[whip] stream ${streamId}: publisher ${publisher.id} connected (${Object.values(publisher.codecs).map((c) => c?.mimeType).join(', ')})`);
    return new Response(answer, {
      status: 201,
      headers: { 'Content-Type': 'application/sdp', Location: `/whip/${streamId}/${publisher.id}` },
    });
  }

  /**
   * Admits a viewer's request for media of `streamId` (WHEP offer or HLS file): the tab and watch in
   * the headers, a voucher naming that watch on this stream, accepted by the tab relay, and the tab
   * gate open. `ready` runs once the request is known to be well-formed (WHEP: the stream is live,
   * the offer read).
   */
  async function admit<T>(req: Request, streamId: bigint, ready: () => Promise<T>): Promise<{ viewer: string; sessionId: bigint; value: T }> {
    const arrivedAt = Date.now();
    const tabHeader = req.headers.get('x-vilo-tab') ?? '';
    const watchHeader = req.headers.get('x-vilo-watch') ?? '';
    if (!tabHeader && !req.headers.get('authorization')) {
      throw new HttpError(402, 'NotPaying', 'playback is paid from a tab: send X-Vilo-Tab, X-Vilo-Watch and "Authorization: TabVoucher <latest signed voucher>"');
    }
    if (!/^[0-9]{1,20}$/.test(tabHeader) || !/^[0-9]{1,10}$/.test(watchHeader)) {
      throw new HttpError(400, 'BadRequest', 'X-Vilo-Tab and X-Vilo-Watch must be the tab id and the watch number (decimal)');
    }
    const tabId = BigInt(tabHeader);
    const watch = Number(watchHeader);
    let signed;
    try {
      signed = parseTabVoucherAuthorization(req.headers.get('authorization'));
    } catch (e) {
      throw new HttpError(req.headers.get('authorization') ? 400 : 402, req.headers.get('authorization') ? 'MalformedVoucher' : 'NotPaying', (e as Error).message);
    }
    const claim = signed.claims.find((c) => c.watch === watch);
    if (signed.tabId !== tabId || !claim || claim.streamId !== streamId) {
      metrics.reject('VoucherMismatch');
      throw new HttpError(403, 'VoucherMismatch', 'the voucher is for another tab, watch or stream than the request names');
    }
    const value = await ready();
    await tabRelay.acceptShown(signed, watch);
    const d = tabGate.decideNow(tabId, watch, arrivedAt);
    if (!d.open) throw new HttpError(402, 'NotPaying', d.message);
    return { viewer: `tab:${tabId}`, sessionId: BigInt(watch), value };
  }

  /**
   * POST /api/streams/:id/watch — the LiveKit plane's WHEP: the same payment headers and checks as a
   * WHEP offer; the answer is a LiveKit token for this one watch (room, identity, short life), and
   * the gate follows the watch from now on.
   */
  async function watchToken(req: Request, streamId: bigint): Promise<Response> {
    if (!lk) throw new HttpError(404, 'NotOnLiveKit', 'this server plays over WHEP (POST /whep/:streamId): it has no LiveKit plane');
    const { viewer, sessionId } = await admit(req, streamId, async () => {
      if (!(await lkRooms!.isLive(streamId))) throw new HttpError(404, 'NotLive', `stream ${streamId} is not broadcasting now`);
    });
    const tabId = BigInt(viewer.slice(4));
    const watch = Number(sessionId);
    const token = await lk.plane.viewerToken(streamId, tabId, watch);
    lkGate!.follow(streamId, tabId, watch);
    deps.log?.(`[watch] stream ${streamId}: ${viewer} (watch ${watch}) admitted to LiveKit`);
    const tracks = await lk.plane.publisherTracks(streamId);
    return json(201, { url: lk.publicUrl ?? lk.plane.config.url, token, room: roomOf(streamId), identity: viewerIdentity(tabId, watch), publisher: 'publisher', tracks });
  }

  async function whep(req: Request, streamId: bigint): Promise<Response> {
    if (lk) throw new HttpError(404, 'OnLiveKit', 'this server plays through LiveKit: POST /api/streams/:streamId/watch for a token');
    const { viewer, sessionId, value: offer } = await admit(req, streamId, async () => {
      if (!sfu.publisher(streamId)) throw new HttpError(404, 'NotLive', `stream ${streamId} is not broadcasting now`);
      return sdpBody(req);
    });
    const { viewer: conn, answer } = await sfu.view(streamId, viewer, sessionId, offer);
    // One connection per watch: a second one (a reload, or someone replaying this viewer's voucher)
    // replaces the first, so one payment never feeds two screens.
    for (const other of sfu.viewers(streamId)) {
      if (other !== conn && other.viewer === viewer && other.sessionId === sessionId) await sfu.leave(other);
    }
    sfu.setOpen(conn, true);
    deps.log?.(`[whep] stream ${streamId}: ${viewer} (watch ${sessionId}) connected`);
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

  /** A voucher posted as JSON, parsed by `parse` (a tab voucher's wire format); 400 MalformedVoucher otherwise. */
  async function voucherBody<T>(req: Request, parse: (x: unknown) => T): Promise<T> {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, MAX_JSON_BYTES));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(400, 'MalformedVoucher', 'the body is not JSON');
    }
    try {
      return parse(body);
    } catch (e) {
      throw new HttpError(400, 'MalformedVoucher', (e as WireError).message);
    }
  }

  async function postTabVoucher(req: Request): Promise<Response> {
    const signed = await voucherBody(req, fromTabWire);
    const watches = await tabRelay.accept(signed);
    // Reopen this tab's media at once instead of at the next gate round.
    for (const c of sfu.viewers()) if (c.viewer === `tab:${signed.tabId}` && !c.open) decide(c);
    void lkGate?.round();
    return json(202, { watches: toWireWatches(watches) });
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
    await checkCreatorRequest(streamId, address, timestamp, signature, `vilokanam:stream-key:${streamId}:${timestamp}`);
    const prev = deps.store.keyHash(streamId);
    if (prev && timestamp <= prev.requestTsMs) throw new HttpError(401, 'ReplayedRequest', 'this signed request was already used: sign a new one');
    const streamKey = `vk_${randomBytes(24).toString('base64url')}`;
    deps.store.setKeyHash(streamId, sha256(streamKey), timestamp);
    deps.log?.(`[keys] stream ${streamId}: new stream key issued`);
    return json(201, { streamKey });
  }

  /** An RTMP stream's broadcast state, from when nginx last wrote its HLS playlist (every 1 s while fed). */
  function hlsState(streamId: bigint, now: number): Broadcast {
    const dir = deps.hlsDir?.(streamId);
    if (!dir) return 'offline';
    let mtime: number;
    try {
      mtime = statSync(join(dir, 'index.m3u8')).mtimeMs;
    } catch {
      return 'offline';
    }
    return broadcastState(true, mtime, now, HLS_SILENT_MS);
  }

  async function route(req: Request, ip: string): Promise<Response | null> {
    const url = new URL(req.url);
    const p = url.pathname.split('/').filter(Boolean);
    const m = req.method;
    const media = p[0] === 'whip' || p[0] === 'whep';
    const api = p[0] === 'api' && (p[1] === 'tab-vouchers' || p[1] === 'tabs' || p[1] === 'streams' || p[1] === 'media');
    const hls = p[0] === 'hls';
    const thumbs = p[0] === 'thumbs' && p.length === 2;
    if (url.pathname === '/metrics' && m === 'GET') {
      const viewers = sfu.viewers();
      return new Response(metrics.render({ publishers: sfu.publisherCount, viewers: viewers.length, viewersOpen: viewers.filter((v) => v.open).length, hlsViewers: hlsAudience.count() }), {
        headers: { 'Content-Type': 'text/plain; version=0.0.4' },
      });
    }
    if (!media && !api && !hls && !thumbs) return null;
    if (api && p[1] === 'streams' && !(p.length === 4 && (p[3] === 'key' || p[3] === 'media' || p[3] === 'earnings' || p[3] === 'watch'))) return null;
    if (!limits.take(ip)) throw new HttpError(429, 'TooManyRequests', 'too many requests from this address: slow down');
    if (media && p.length === 2 && m === 'POST') return p[0] === 'whip' ? whip(req, streamIdOf(p[1])) : whep(req, streamIdOf(p[1]));
    if (media && p.length === 3 && m === 'DELETE') {
      const id = streamIdOf(p[1]);
      if (p[0] === 'whip' && lk) {
        const pub = lkPublishers.get(p[2]);
        if (!pub || pub.streamId !== id) throw new HttpError(404, 'NoSuchResource', 'no such publishing session');
        lkPublishers.delete(p[2]);
        await fetch(pub.location, { method: 'DELETE', headers: { Authorization: `Bearer ${pub.token}` } }).catch(() => {});
        await lk.plane.remove(id, 'publisher').catch(() => false);
        void lkRooms!.poll();
        deps.log?.(`[whip] stream ${id}: publisher left LiveKit`);
      } else if (p[0] === 'whip') {
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
    if (thumbs && m === 'GET') {
      const picture = p[1].endsWith('.jpg') ? deps.thumbnails?.picture(p[1].slice(0, -4)) : null;
      if (!picture) throw new HttpError(404, 'NoSuchThumbnail', `there is no thumbnail ${p[1]}`);
      // Named by its content: it never changes.
      return new Response(picture, { headers: { 'Content-Type': 'image/jpeg', 'Cache-Control': 'public, max-age=31536000, immutable' } });
    }
    if (api && p[1] === 'tab-vouchers' && p.length === 2 && m === 'POST') return postTabVoucher(req);
    if (api && p[3] === 'watch' && m === 'POST') return watchToken(req, streamIdOf(p[2]));
    if (api && p[1] === 'tabs' && p[2] === 'relay' && p.length === 3 && m === 'GET') return json(200, { relay: deps.settler?.relayAddress ?? null });
    if (api && p[3] === 'key' && m === 'POST') return newKey(req, streamIdOf(p[2]));
    if (api && p[3] === 'key' && m === 'GET') {
      // Whether a key exists and since when (never the key: it is stored only as a hash).
      const k = deps.store.keyHash(streamIdOf(p[2]));
      return json(200, { issued: !!k, issuedAtMs: k?.requestTsMs ?? null });
    }
    if (api && p[3] === 'earnings' && p.length === 4 && m === 'GET') {
      // What this relay holds signed for the stream and has not settled yet: the creator's pending earnings.
      const pending = tabStore.pending(streamIdOf(p[2]));
      return json(200, { pendingPlancks: pending.plancks.toString(), watches: pending.watches });
    }
    if (api && p[3] === 'media' && m === 'GET') {
      const id = streamIdOf(p[2]);
      const now = Date.now();
      const hls = hlsState(id, now);
      const state = broadcastOf(planeBroadcast(id, now), hls);
      // A watch page asks this every 2 s: its viewer may start a watch at any moment, so the relay
      // has the stream and its rate read before the watch's first voucher comes (on air only).
      if (state === 'live') tabRelay.expectWatches(id);
      return json(200, {
        state,
        live: planeBroadcast(id, now) === 'live',
        plane: lk ? 'livekit' : 'werift',
        viewers: (lkRooms ? lkRooms.viewerCount(id) : sfu.viewers(id).length) + hlsAudience.count(id),
        hls: hls === 'live',
        thumbnail: deps.thumbnails?.latest(id) ?? null,
      });
    }
    if (api && p[1] === 'media' && p.length === 2 && m === 'GET') {
      const ids = (url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
      if (ids.length > 200) throw new HttpError(400, 'TooManyIds', 'ask for at most 200 streams at once');
      const now = Date.now();
      const streams: Record<string, { state: Broadcast; viewers: number; thumbnail: Thumbnail | null }> = {};
      for (const raw of ids) {
        const id = streamIdOf(raw);
        streams[id.toString()] = {
          state: broadcastOf(planeBroadcast(id, now), hlsState(id, now)),
          viewers: (lkRooms ? lkRooms.viewerCount(id) : sfu.viewers(id).length) + hlsAudience.count(id),
          thumbnail: deps.thumbnails?.latest(id) ?? null,
        };
      }
      return json(200, { streams });
    }
    throw new HttpError(405, 'MethodNotAllowed', `${m} ${url.pathname} is not served`);
  }

  /** A tab's viewer never changes: remembered once read. */
  const tabViewers = new Map<string, string>();
  return {
    metrics,
    tabGate,
    tabRelay,
    sfu,
    /** The chain as the media server reads it (its reads are cached: boot.ts). */
    chain: deps.chain,
    /** Whether the SFU is sending `account`'s tab the video of `streamId` now (the gate lets it flow). */
    async paying(streamId: bigint, account: string): Promise<boolean> {
      const open = lkGate
        ? lkGate.granted(streamId).map((w) => w.tabId.toString())
        : sfu.viewers(streamId).filter((v) => v.open && v.viewer.startsWith('tab:')).map((v) => v.viewer.slice(4));
      for (const tabId of open) {
        let viewer = tabViewers.get(tabId);
        if (!viewer) {
          viewer = (await deps.chain.tab(BigInt(tabId)))?.viewer;
          if (!viewer) continue;
          tabViewers.set(tabId, viewer);
          if (tabViewers.size > 100_000) tabViewers.clear();
        }
        if (viewer === account) return true;
      }
      return false;
    },
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
      lkGate?.stop();
      lkRooms?.stop();
      await tabRelay.stop();
      await sfu.close();
    },
  };
}

export type MediaServer = ReturnType<typeof createMediaServer>;
