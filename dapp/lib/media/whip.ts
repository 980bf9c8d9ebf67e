/**
 * WHIP publishing (RFC 9725) from the browser: one POST of the SDP offer with the stream key as a
 * Bearer token; the answer comes back with the resource's Location, which a DELETE ends.
 */
import { MediaError, endSession, exchangeSdp, resolveUrl } from './errors.ts';

export { MediaError };

export interface Publishing {
  pc: RTCPeerConnection;
  /** Ends publishing (DELETE of the WHIP resource) and closes the connection; the media tracks stay. */
  stop(): Promise<void>;
  /** Calls `f` once if the connection ends without `stop` (the media server went away or dropped it), with why. */
  onEnd(f: (why: string) => void): void;
}

export async function publish(o: { streamId: bigint; streamKey: string; media: MediaStream; baseUrl?: string }): Promise<Publishing> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  try {
    for (const track of o.media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [o.media] });
    await pc.setLocalDescription(await pc.createOffer());
    const auth = { Authorization: `Bearer ${o.streamKey}` };
    const resource = await exchangeSdp(pc, resolveUrl(o.baseUrl, `/whip/${o.streamId}`), auth, 'publishing');
    const stop = endSession(pc, resource, auth);
    let stopped = false;
    const onEnd = (f: (why: string) => void) => {
      const ended = () => {
        if (stopped || pc.connectionState !== 'failed') return;
        pc.removeEventListener('connectionstatechange', ended);
        f('the connection to the media server failed');
      };
      pc.addEventListener('connectionstatechange', ended);
    };
    return {
      pc,
      stop: () => {
        stopped = true;
        return stop();
      },
      onEnd,
    };
  } catch (e) {
    pc.close();
    throw e;
  }
}
