/**
 * HLS playback for streams that come in over RTMP (docs/media.md): hls.js (loaded only when needed)
 * plays /hls/:streamId/index.m3u8 into a <video>, sending the same headers as WHEP — the viewer, the
 * session and the latest voucher — with every playlist and fragment request, so the server's gate
 * decides each one.
 */
import type { SignedVoucher } from '../protocol/voucher.ts';
import { MediaError } from './errors.ts';
import { whepHeaders } from './wire.ts';

export interface HlsPlayback {
  stop(): void;
}

export async function playHls(o: {
  video: HTMLVideoElement;
  streamId: bigint;
  viewer: string;
  sessionId: bigint;
  /** The newest accepted voucher, read at each request. */
  voucher: () => SignedVoucher | undefined;
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
      const v = o.voucher();
      if (!v) return;
      for (const [k, value] of Object.entries(whepHeaders({ viewer: o.viewer, sessionId: o.sessionId, voucher: v }))) xhr.setRequestHeader(k, value);
    },
  });
  hls.on(Hls.Events.ERROR, (_e, data) => {
    if (!data.fatal) return;
    const status = data.response?.code ?? 0;
    hls.destroy();
    o.onError(
      new MediaError(
        status === 402 ? 'NotPaying' : status === 404 ? 'NotLive' : 'PlaybackFailed',
        status === 402 ? 'the media server stopped serving this session (no fresh voucher, or the escrow is used up)' : `HLS playback failed (${data.details})`,
        status,
      ),
    );
  });
  hls.loadSource(`/hls/${o.streamId}/index.m3u8`);
  hls.attachMedia(o.video);
  return { stop: () => hls.destroy() };
}
