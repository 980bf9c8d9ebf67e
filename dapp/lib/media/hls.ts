/**
 * HLS playback for streams that come in over RTMP (docs/media.md): hls.js (loaded only when needed)
 * plays /hls/:streamId/index.m3u8 into a <video>, sending the same headers as WHEP — a tab's watch
 * and its latest voucher (tab-wire.ts `tabWhepHeaders`) — with every playlist and fragment request,
 * so the server's gate decides each one.
 */
import { MediaError } from './errors.ts';

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
}): Promise<HlsPlayback> {
  const { default: Hls } = await import('hls.js');
  if (!Hls.isSupported()) throw new MediaError('Unsupported', 'this browser cannot play HLS (no Media Source Extensions)', 0);
  const hls = new Hls({
    lowLatencyMode: true,
    liveSyncDurationCount: 2,
    // One try per request: a refusal is the gate's answer, not a network hiccup to retry.
    manifestLoadPolicy: { default: { maxTimeToFirstByteMs: 8_000, maxLoadTimeMs: 10_000, timeoutRetry: null, errorRetry: null } },
    xhrSetup: (xhr) => {
      for (const [k, value] of Object.entries(o.headers() ?? {})) xhr.setRequestHeader(k, value);
    },
  });
  hls.on(Hls.Events.ERROR, (_e, data) => {
    if (!data.fatal) return;
    const status = data.response?.code ?? 0;
    hls.destroy();
    o.onError(
      new MediaError(
        status === 402 ? 'NotPaying' : status === 404 ? 'NotLive' : 'PlaybackFailed',
        status === 402 ? 'the media server stopped serving this watch (no fresh voucher, or the tab is used up)' : `HLS playback failed (${data.details})`,
        status,
      ),
    );
  });
  hls.loadSource(`/hls/${o.streamId}/index.m3u8`);
  hls.attachMedia(o.video);
  return { stop: () => hls.destroy() };
}
