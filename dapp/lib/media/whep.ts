/**
 * WHEP playback: one POST of a receive-only SDP offer carrying the tab, the watch and its latest
 * signed voucher (`tabWhepHeaders`). The server answers only while the tab pays (402 NotPaying
 * otherwise) and keeps forwarding only while fresh vouchers arrive (see tab-ticker.ts).
 */
import { MediaError, endSession, exchangeSdp, liveKitWhipHeaders, refusal, resolveUrl } from './errors.ts';

export { MediaError };

export interface Playback {
  /** Receives the stream's tracks as they arrive. */
  stream: MediaStream;
  pc: RTCPeerConnection;
  /** Ends playback (DELETE of the WHEP resource) and closes the connection. */
  stop(): Promise<void>;
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
 * (`prepareOffer`) or a new one. `url` names another endpoint taking the same exchange (LiveKit's
 * WHIP, receive-only), `endHeaders` what its DELETE must carry.
 */
export async function playWith(o: {
  streamId: bigint;
  headers: Record<string, string>;
  baseUrl?: string;
  prepared?: PreparedOffer;
  url?: string;
  endHeaders?: Record<string, string>;
}): Promise<Playback> {
  const { pc, stream, offered } = o.prepared ?? prepareOffer();
  try {
    await offered;
    const resource = await exchangeSdp(pc, o.url ?? resolveUrl(o.baseUrl, `/whep/${o.streamId}`), o.headers, 'playback');
    return { stream, pc, stop: endSession(pc, resource, o.endHeaders) };
  } catch (e) {
    pc.close();
    throw e;
  }
}

/** What POST /api/streams/:id/watch answers on the LiveKit plane (docs/media.md, "LiveKit"). */
export interface WatchGrant {
  url: string;
  token: string;
  room: string;
  identity: string;
  publisher: string;
  tracks: string[];
}

/**
 * Playback on the LiveKit plane: the payment headers buy a short-lived LiveKit token for this watch
 * (POST /api/streams/:id/watch: the same checks and refusals as a WHEP offer), then the offer goes to
 * LiveKit's WHIP endpoint, receive-only, naming the publisher's tracks so that the answer carries them.
 * LiveKit ends the connection when the gate removes the watch (payment stopped): ask again then.
 */
export async function playOnLiveKit(o: { streamId: bigint; headers: Record<string, string>; baseUrl?: string; prepared?: PreparedOffer }): Promise<Playback> {
  let res: Response;
  try {
    res = await fetch(resolveUrl(o.baseUrl, `/api/streams/${o.streamId}/watch`), { method: 'POST', headers: o.headers });
  } catch (e) {
    o.prepared?.close();
    throw new MediaError('Unreachable', `the media server did not answer: ${(e as Error).message}`, 0);
  }
  if (res.status !== 201) {
    o.prepared?.close();
    throw await refusal(res, 'playback');
  }
  const g = (await res.json()) as WatchGrant;
  const headers = liveKitWhipHeaders(g);
  return playWith({ streamId: o.streamId, prepared: o.prepared, url: new URL('/whip/v1', g.url).toString(), headers, endHeaders: { Authorization: headers.Authorization } });
}
