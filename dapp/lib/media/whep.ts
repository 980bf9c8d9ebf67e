/**
 * WHEP playback: one POST of a receive-only SDP offer carrying the viewer, the session and the latest
 * signed voucher. The server answers only while the viewer pays (402 NotPaying otherwise) and keeps
 * forwarding only while fresh vouchers arrive (see ticker.ts).
 */
import type { SignedVoucher } from '../protocol/voucher.ts';
import { MediaError, gathered, refusal, resolveUrl } from './errors.ts';
import { voucherAuthorization } from './wire.ts';

export { MediaError };

export interface Playback {
  /** Receives the stream's tracks as they arrive. */
  stream: MediaStream;
  pc: RTCPeerConnection;
  /** Ends playback (DELETE of the WHEP resource) and closes the connection. */
  stop(): Promise<void>;
}

export async function play(o: { streamId: bigint; viewer: string; sessionId: bigint; voucher: SignedVoucher; baseUrl?: string }): Promise<Playback> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const stream = new MediaStream();
  pc.addEventListener('track', (e) => {
    if (!stream.getTracks().includes(e.track)) stream.addTrack(e.track);
  });
  try {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const url = resolveUrl(o.baseUrl, `/whep/${o.streamId}`);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/sdp',
          'X-Vilo-Viewer': o.viewer,
          'X-Vilo-Session': o.sessionId.toString(),
          Authorization: voucherAuthorization(o.voucher),
        },
        body: pc.localDescription!.sdp,
      });
    } catch (e) {
      throw new MediaError('Unreachable', `the media server did not answer: ${(e as Error).message}`, 0);
    }
    if (res.status !== 201) throw await refusal(res, 'playback');
    const location = res.headers.get('Location');
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    const resource = location ? new URL(location, url).toString() : undefined;
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
