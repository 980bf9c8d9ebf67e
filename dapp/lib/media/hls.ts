/**
 * HLS playback for streams that come in over RTMP (docs/media.md): hls.js (loaded only when needed)
 * plays /hls/:streamId/index.m3u8 into a <video>, sending the same headers as WHEP — a tab's watch
 * and its latest voucher (tab-wire.ts `tabWhepHeaders`) — with every playlist and fragment request,
 * so the server's gate decides each one.
 *
 * With an HTTP edge (`edge`: the server's POST /api/streams/:id/hls-edge), the files come from the
 * edge instead, under a signed prefix good for a few seconds (server/media/hls-edge.ts); the prefix
 * is asked again at half its life, and every request — fragments named relative to an older
 * playlist included — goes out under the newest one. No voucher travels to the edge.
 */
import { MediaError } from './errors.ts';

/** A signed edge prefix: `<origin>/edge/<token>/<expires>/<streamId>/`, good until `expiresAtMs`. */
export interface EdgeGrant {
  url: string;
  expiresAtMs: number;
}

const EDGE_PATH = /\/edge\/[A-Za-z0-9_-]+\/[0-9]+\/[0-9]+\//;

export interface HlsPlayback {
  stop(): void;
}

export async function playHls(o: {
  video: HTMLVideoElement;
  streamId: bigint;
  /** The headers that pay for a request (from the newest accepted voucher), read at each request. */
  headers: () => Record<string, string> | undefined;
  /** A fatal error (the gate refused, the stream ended): playback has stopped. */
  onError: (e: MediaError) => void;
  /** The edge's signed prefix for this watch, asked for again before it expires (absent: the media server's /hls/). */
  edge?: () => Promise<EdgeGrant>;
}): Promise<HlsPlayback> {
  const { default: Hls } = await import('hls.js');
  if (!Hls.isSupported()) throw new MediaError('Unsupported', 'this browser cannot play HLS (no Media Source Extensions)', 0);
  let grant = o.edge ? await o.edge() : undefined;
  let renewal: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(renewal);
    hls.destroy();
  };
  const renew = () => {
    if (!o.edge || !grant || stopped) return;
    renewal = setTimeout(
      () =>
        void o.edge!().then(
          (g) => {
            grant = g;
            renew();
          },
          (e: MediaError) => {
            if (stopped) return;
            // Refused (no fresh voucher, tab used up): the edge stops serving at the prefix's expiry.
            if (e.status === 402 || Date.now() >= grant!.expiresAtMs) {
              stop();
              return o.onError(e);
            }
            renewal = setTimeout(renew, 1_000);
          },
        ),
      Math.max(250, (grant.expiresAtMs - Date.now()) / 2),
    );
  };
  const hls = new Hls({
    lowLatencyMode: true,
    liveSyncDurationCount: 2,
    // One try per request: a refusal is the gate's answer, not a network hiccup to retry.
    manifestLoadPolicy: { default: { maxTimeToFirstByteMs: 8_000, maxLoadTimeMs: 10_000, timeoutRetry: null, errorRetry: null } },
    xhrSetup: (xhr, url) => {
      if (grant) return xhr.open('GET', url.replace(EDGE_PATH, new URL(grant.url).pathname), true);
      for (const [k, value] of Object.entries(o.headers() ?? {})) xhr.setRequestHeader(k, value);
    },
  });
  hls.on(Hls.Events.ERROR, (_e, data) => {
    if (!data.fatal) return;
    const status = data.response?.code ?? 0;
    stop();
    o.onError(
      new MediaError(
        status === 402 ? 'NotPaying' : status === 410 ? 'EdgeUrlExpired' : status === 404 ? 'NotLive' : 'PlaybackFailed',
        status === 402
          ? 'the media server stopped serving this watch (no fresh voucher, or the tab is used up)'
          : status === 410
            ? 'the edge’s signed address for this watch expired before a new one came'
            : `HLS playback failed (${data.details})`,
        status,
      ),
    );
  });
  hls.loadSource(grant ? `${grant.url}index.m3u8` : `/hls/${o.streamId}/index.m3u8`);
  hls.attachMedia(o.video);
  renew();
  return { stop };
}
