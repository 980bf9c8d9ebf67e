/**
 * WHEP playback: one POST of a receive-only SDP offer carrying the tab, the watch and its latest
 * signed voucher (`tabWhepHeaders`). The server answers only while the tab pays (402 NotPaying
 * otherwise) and keeps forwarding only while fresh vouchers arrive (see tab-ticker.ts).
 */
import { MediaError, endSession, exchangeSdp, resolveUrl } from './errors.ts';

export { MediaError };

/** Video playing from the media plane (WHEP here; a LiveKit room in livekit.ts). */
export interface Playback {
  /** Receives the stream's tracks as they arrive. */
  stream: MediaStream;
  /** Ends playback and closes the connection. */
  stop(): Promise<void>;
  /** Calls `f` once when the connection ends on its own (failed, closed, or removed by the gate). */
  onEnd(f: () => void): void;
}

export interface WhepPlayback extends Playback {
  pc: RTCPeerConnection;
}

/**
 * A receive-only peer connection with its offer made and its candidates being gathered: all of a
 * WHEP request but its headers, made before the video is asked for (it binds to no stream or
 * payment). Used once; `close` it if it is not.
 */
export interface PreparedOffer {
  pc: RTCPeerConnection;
  stream: MediaStream;
  /** When it was made (ms since the epoch). */
  at: number;
  offered: Promise<void>;
  close(): void;
}

export function prepareOffer(): PreparedOffer {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const stream = new MediaStream();
  pc.addEventListener('track', (e) => {
    if (!stream.getTracks().includes(e.track)) stream.addTrack(e.track);
  });
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const offered = pc.createOffer().then((offer) => pc.setLocalDescription(offer));
  offered.catch(() => {});
  return { pc, stream, at: Date.now(), offered, close: () => pc.close() };
}

/**
 * WHEP playback with the payment headers given (`tabWhepHeaders`), from an offer made ahead
 * (`prepareOffer`) or a new one.
 */
export async function playWith(o: { streamId: bigint; headers: Record<string, string>; baseUrl?: string; prepared?: PreparedOffer }): Promise<WhepPlayback> {
  const { pc, stream, offered } = o.prepared ?? prepareOffer();
  try {
    await offered;
    const resource = await exchangeSdp(pc, resolveUrl(o.baseUrl, `/whep/${o.streamId}`), o.headers, 'playback');
    const onEnd = (f: () => void) => {
      const ended = () => {
        if (pc.connectionState !== 'failed' && pc.connectionState !== 'closed') return;
        pc.removeEventListener('connectionstatechange', ended);
        f();
      };
      pc.addEventListener('connectionstatechange', ended);
    };
    return { stream, pc, stop: endSession(pc, resource), onEnd };
  } catch (e) {
    pc.close();
    throw e;
  }
}
