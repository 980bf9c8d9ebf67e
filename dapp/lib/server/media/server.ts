/**
 * The media server as one framework-free set of routes (router.ts): WHIP, WHEP / LiveKit watch
 * tokens, HLS, tab vouchers, stream keys, media status, thumbnails, metrics — each endpoint a module
 * in routes/. dapp/hooks.server.ts puts its routes in the app's one route table; the benchmarks serve
 * them alone (`handle`).
 *
 *   POST   /whip/:streamId              Bearer <stream key> or creator-signed request, application/sdp → 201 + Location   routes/publish.ts
 *   DELETE /whip/:streamId/:resource                                                                                       routes/publish.ts
 *   POST   /whep/:streamId              X-Vilo-Tab, X-Vilo-Watch, Authorization: TabVoucher … → 201                        routes/play.ts
 *   DELETE /whep/:streamId/:resource                                                                                       routes/play.ts
 *   POST   /api/streams/:streamId/watch the WHEP headers → 201 {url, token, room, identity, publisher, tracks} (LiveKit)   routes/play.ts
 *   POST   /api/streams/:streamId/publisher-token  as POST /whip → 201 {url, token, room, identity} (LiveKit's client)   routes/publish.ts
 *   POST   /api/livekit/webhook         LiveKit's signed webhook → 200 (removes a viewer who joined without a paid watch)  routes/livekit-webhook.ts
 *   GET    /hls/:streamId/:file         (RTMP streams) the WHEP headers → playlist / fragment                             routes/hls.ts
 *   POST   /api/tab-vouchers            JSON tab voucher → 202 {watches: [{watch, streamId, ratePerSecond, ticks, settledTicks, retired}]}   routes/vouchers.ts
 *   GET    /api/tabs/relay              → {relay} (the account a tab must name to be served here; null: none)             routes/vouchers.ts
 *   POST   /api/streams/:streamId/key   creator's signed request → 201 {streamKey}                                        routes/keys.ts
 *   GET    /api/streams/:streamId/key   → {issued, issuedAtMs} (whether an encoder key exists; never the key)            routes/keys.ts
 *   GET    /api/streams/:streamId/media → {state, live, plane, viewers (WHEP + HLS), hls, thumbnail}                      routes/status.ts
 *   GET    /api/streams/:streamId/earnings → {pendingPlancks, watches} (signed by tabs, not yet settled: before the fee)  routes/status.ts
 *   GET    /api/media?ids=1,2,… → {streams: {id: {state, viewers, thumbnail}}} (the discover page; ≤ 200 ids)             routes/status.ts
 *   GET    /thumbs/:cid.jpg             a thumbnail taken from the live video (immutable)                                 routes/thumbs.ts
 *   GET    /metrics                     Prometheus text                                                                   routes/metrics.ts
 * Every refusal is a named Refusal; its status is refusals.ts's, applied by the router.
 */
import { Refusal } from '../refusals.ts';
import { Router, type Route } from '../router.ts';
import { HlsAudience } from './audience.ts';
import type { MediaContext, MediaServerDeps } from './context.ts';
import { MAX_SDP_BYTES } from './context.ts';
import { TokenBuckets } from './http.ts';
import { LiveKitGate, LiveRooms } from './livekit/plane.ts';
import { LiveKitThumbnailer } from './livekit/thumbnailer.ts';
import { Metrics } from './metrics.ts';
import { Publishers } from './publishers.ts';
import { hlsRoutes } from './routes/hls.ts';
import { keyRoutes } from './routes/keys.ts';
import { liveKitWebhookRoutes } from './routes/livekit-webhook.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { playRoutes } from './routes/play.ts';
import { publishRoutes } from './routes/publish.ts';
import { statusRoutes } from './routes/status.ts';
import { thumbnailRoutes } from './routes/thumbs.ts';
import { voucherRoutes } from './routes/vouchers.ts';
import { Sfu, broadcastState, type Broadcast, type Viewer } from './sfu.ts';
import { TabGate } from './tab-gate.ts';
import { TabRelay } from './tab-relay.ts';
import { TabStore } from './tab-store.ts';
import { statSync } from 'node:fs';
import { join } from 'node:path';

export type { MediaServerDeps } from './context.ts';
export { MAX_JSON_BYTES, MAX_SDP_BYTES } from './context.ts';
export { KEY_REQUEST_TTL_MS } from './publishers.ts';

/** An HLS viewer counts as watching this long after their last playlist or fragment request. */
const HLS_VIEWER_WINDOW_MS = 10_000;
/** An RTMP stream whose playlist was not rewritten for this long is not being fed. */
const HLS_SILENT_MS = 5_000;

/** Live if either ingest is live; else reconnecting if either is; else offline. */
function broadcastOf(whip: Broadcast, hls: Broadcast): Broadcast {
  if (whip === 'live' || hls === 'live') return 'live';
  return whip === 'reconnecting' || hls === 'reconnecting' ? 'reconnecting' : 'offline';
}

export function createMediaServer(deps: MediaServerDeps) {
  const log = (line: string) => deps.log?.(line);
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
      metrics.forwarded(n);
      deps.sfu?.onForward?.(n);
    },
    ...(deps.thumbnails && {
      onPublisherVideo: (id, codec, rtp) => deps.thumbnails!.onVideo(id, codec, rtp),
      onUnpublish: (id) => deps.thumbnails!.unpublished(id),
    }),
  });
  const hlsAudience = new HlsAudience(HLS_VIEWER_WINDOW_MS);

  // The gate loop on the werift plane: re-decide every viewer; media flows only to the open ones.
  const decide = (v: Viewer) => {
    const d = tabGate.decideNow(BigInt(v.viewer.slice(4)), Number(v.sessionId));
    if (!d.open && v.open) {
      metrics.deny(d.reason);
      log(`[gate] media to ${v.viewer} on stream ${v.streamId} stopped: ${d.message}`);
    }
    sfu.setOpen(v, d.open);
  };
  const gateTimer = setInterval(() => {
    for (const v of sfu.viewers()) decide(v);
  }, deps.gateIntervalMs ?? 250);

  // The LiveKit plane: its rooms' publishers say what is live; its gate keeps each watch's subscribe
  // permission equal to the tab gate's decision.
  const lkLog = (what: string) => (e: Error) => log(`[livekit] ${what} failed: ${e.message}`);
  const lk: MediaContext['lk'] = deps.livekit && {
    ...deps.livekit,
    rooms: new LiveRooms(deps.livekit.plane, { onError: lkLog('listing rooms') }),
    gate: new LiveKitGate(
      deps.livekit.plane,
      (tabId, watch) => {
        const d = tabGate.decideNow(tabId, watch);
        if (!d.open) metrics.deny(d.reason);
        return d;
      },
      // A tab is served by one relay: its account names this control plane on its viewers' tokens.
      { intervalMs: deps.gateIntervalMs ?? 250, onError: lkLog('a permission update or a sweep'), owner: () => deps.settler?.relayAddress },
    ),
    publishers: new Map(),
    lastAdmission: new Map(),
  };
  lk?.rooms.start();
  lk?.gate.start();
  // Behind the webhook (routes/livekit-webhook.ts), which removes an unpaid viewer as she joins: a
  // sweep of the live rooms for one whose webhook was lost, or a LiveKit without the webhook set.
  const sweepTimer =
    lk &&
    setInterval(() => {
      void lk.gate.sweep(lk.rooms.liveStreams()).then((removed) => {
        for (const identity of removed) {
          metrics.deny('UnpaidJoin');
          log(`[livekit] ${identity} was in a room without a paid watch: removed by the sweep`);
        }
      });
    }, deps.livekitSweepMs ?? 10_000);
  // Its thumbnails: the video does not pass through here, so a subscriber of our own takes them.
  const thumbnailer = lk && deps.thumbnails && new LiveKitThumbnailer(lk.plane, lk.rooms, deps.thumbnails, { log });
  thumbnailer?.start();

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

  /**
   * Viewers of a stream on LiveKit. LiveKit refreshes a room's counts at most every 5 s (its room
   * update interval), so its count alone would show "0 watching" to a viewer who has just joined. The
   * watches this control plane's gate has confirmed in the room are known at once; LiveKit's count
   * (less the thumbnailer's own subscriber) also holds viewers admitted by other control planes.
   */
  const liveKitViewers = (plane: NonNullable<typeof lk>, id: bigint) =>
    Math.max(plane.gate.granted(id).length, plane.rooms.viewerCount(id) - (thumbnailer?.count(id) ?? 0), 0);

  const ctx: MediaContext = {
    deps,
    metrics,
    tabStore,
    tabGate,
    tabRelay,
    sfu,
    hlsAudience,
    lk,
    viewers: (id) => (lk ? liveKitViewers(lk, id) : sfu.viewers(id).length) + hlsAudience.count(id),
    decide,
    broadcast(id, now) {
      const plane = lk ? broadcastState(lk.rooms.hasPublisher(id), lk.rooms.lastLive(id), now) : sfu.broadcast(id, now);
      const hls = hlsState(id, now);
      return { state: broadcastOf(plane, hls), plane, hls };
    },
    log,
  };
  const publishers = new Publishers({ chain: deps.chain, store: deps.store });

  // Every endpoint but /metrics takes a token from its client's bucket first; a payment refusal is
  // counted (and, for playback, logged: an operator asking "why is this viewer not getting video"
  // finds the answer there).
  const limits = new TokenBuckets(deps.rateLimit?.perSecond ?? 20, deps.rateLimit?.burst ?? 60);
  const guarded = (r: Route): Route => ({
    ...r,
    handler: async (ask) => {
      if (!limits.take(ask.ip)) throw new Refusal('TooManyRequests', 'too many requests from this address: slow down');
      try {
        return await r.handler(ask);
      } catch (e) {
        if (e instanceof Refusal && (e.status === 402 || e.status === 403)) {
          metrics.deny(e.name);
          if (r.path.startsWith('/whep/') || r.path.startsWith('/hls/')) log(`[play] refused ${ask.url.pathname}: ${e.status} ${e.name}: ${e.message}`);
        }
        throw e;
      }
    },
  });
  const routes: Route[] = [
    ...[
      ...publishRoutes(ctx, publishers),
      ...playRoutes(ctx),
      ...hlsRoutes(ctx),
      ...voucherRoutes(ctx),
      ...keyRoutes(ctx, publishers),
      ...statusRoutes(ctx),
      ...thumbnailRoutes(ctx),
    ].map(guarded),
    ...metricsRoutes(ctx),
    ...liveKitWebhookRoutes(ctx),
  ];
  const router = new Router(routes, { log });

  /** A tab's viewer never changes: remembered once read. */
  const tabViewers = new Map<string, string>();
  return {
    metrics,
    tabGate,
    tabRelay,
    sfu,
    /** The media server's endpoints, for the app's route table (dapp/hooks.server.ts). */
    routes,
    /** The chain as the media server reads it (its reads are cached: boot.ts). */
    chain: deps.chain,
    /** Whether the plane is sending `account`'s tab the video of `streamId` now (the gate lets it flow). */
    async paying(streamId: bigint, account: string): Promise<boolean> {
      const open = lk
        ? lk.gate.granted(streamId).map((w) => w.tabId.toString())
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
    streamForKey: (key: string): bigint | undefined => publishers.streamForKey(key),
    /** Answers a media request alone (the benchmarks' server), or null when the path is not the media server's. */
    handle: (req: Request, ip = 'unknown'): Promise<Response | null> => router.handle(req, ip),
    async close(): Promise<void> {
      clearInterval(gateTimer);
      clearInterval(sweepTimer);
      lk?.gate.stop();
      lk?.rooms.stop();
      await thumbnailer?.stop();
      await tabRelay.stop();
      await sfu.close();
    },
  };
}

export type MediaServer = ReturnType<typeof createMediaServer>;
