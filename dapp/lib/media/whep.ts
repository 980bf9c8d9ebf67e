/**
 * WHEP playback: one POST of a receive-only SDP offer carrying the tab, the watch and its latest
 * signed voucher (`tabWhepHeaders`). The server answers only while the tab pays (402 NotPaying
 * otherwise) and keeps forwarding only while fresh vouchers arrive (see tab-ticker.ts).
 */
import { MediaError, exchangeSdp, resolveUrl } from './errors.ts';

export { MediaError };

export interface Playback {
  /** Receives the stream's tracks as they arrive. */
  stream: MediaStream;
  pc: RTCPeerConnection;
  /** Ends playback (DELETE of the WHEP resource) and closes the connection. */
  stop(): Promise<void>;
}

/** WHEP playback with the payment headers given (`tabWhepHeaders`). */
export async function playWith(o: { streamId: bigint; headers: Record<string, string>; baseUrl?: string }): Promise<Playback> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const stream = new MediaStream();
  pc.addEventListener('track', (e) => {
    if (!stream.getTracks().includes(e.track)) stream.addTrack(e.track);
  });
  try {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const resource = await exchangeSdp(pc, resolveUrl(o.baseUrl, `/whep/${o.streamId}`), o.headers, 'playback');
    return {
      stream,
      pc,
      stop: async () => {
        pc.close();
        if (resource) await fetch(resource, { method: 'DELETE' }).catch(() => {});
      },
    };
  } catch (e) {
    pc.close();
    throw e;
  }
}
