/**
 * WHIP publishing (RFC 9725) from the browser: one POST of the SDP offer with the stream key as a
 * Bearer token; the answer comes back with the resource's Location, which a DELETE ends.
 */
import { MediaError, gathered, refusal, resolveUrl } from './errors.ts';

export { MediaError };

export interface Publishing {
  pc: RTCPeerConnection;
  /** Ends publishing (DELETE of the WHIP resource) and closes the connection; the media tracks stay. */
  stop(): Promise<void>;
}

export async function publish(o: { streamId: bigint; streamKey: string; media: MediaStream; baseUrl?: string }): Promise<Publishing> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  try {
    for (const track of o.media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [o.media] });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const url = resolveUrl(o.baseUrl, `/whip/${o.streamId}`);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${o.streamKey}` },
        body: pc.localDescription!.sdp,
      });
    } catch (e) {
      throw new MediaError('Unreachable', `the media server did not answer: ${(e as Error).message}`, 0);
    }
    if (res.status !== 201) throw await refusal(res, 'publishing');
    const location = res.headers.get('Location');
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    const resource = location ? new URL(location, url).toString() : undefined;
    return {
      pc,
      stop: async () => {
        pc.close();
        if (resource) await fetch(resource, { method: 'DELETE', headers: { Authorization: `Bearer ${o.streamKey}` } }).catch(() => {});
      },
    };
  } catch (e) {
    pc.close();
    throw e;
  }
}
