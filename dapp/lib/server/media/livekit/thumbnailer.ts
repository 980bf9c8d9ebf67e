/**
 * Thumbnails on the LiveKit plane: the video no longer passes through this process, so for each
 * room with a publisher the control plane keeps one subscriber of its own — identity `thumbnails`,
 * hidden, subscribe-only, video only, a werift peer over LiveKit's WHIP — and hands its RTP to
 * Thumbnails, the same pipeline as the werift SFU's (a keyframe every 30 s decoded to a JPEG named
 * by its CID; a keyframe is asked for with a PLI). It leaves when the room loses its publisher, and
 * is not counted as a viewer (`count`).
 */
import { liveKitWhipHeaders } from '../../../media/errors.ts';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import type { Thumbnails, VideoCodec } from '../thumbnails.ts';
import { PUBLISHER_IDENTITY, THUMBNAILER_IDENTITY, type LiveKitPlane, type LiveRooms } from './plane.ts';

const FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }];

interface Subscription {
  pc: RTCPeerConnection;
  location?: string;
  token: string;
  /** Joined: LiveKit counts it among the room's participants. */
  joined: boolean;
}

export class LiveKitThumbnailer {
  private readonly subs = new Map<string, Subscription>();
  private timer?: ReturnType<typeof setInterval>;

  constructor(
    private readonly plane: LiveKitPlane,
    private readonly rooms: LiveRooms,
    private readonly thumbnails: Thumbnails,
    private readonly o: { intervalMs?: number; log?: (line: string) => void } = {},
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.round(), this.o.intervalMs ?? 2_000);
  }

  /** How many of the room's participants are this subscriber (0 or 1): not viewers. */
  count(streamId: bigint): number {
    return this.subs.get(streamId.toString())?.joined ? 1 : 0;
  }

  /** Joins the rooms that are live and have none yet; leaves the ones that are not any more. */
  async round(): Promise<void> {
    const live = new Set(this.rooms.liveStreams().map(String));
    for (const [id, s] of this.subs) if (!live.has(id) || s.pc.connectionState === 'failed' || s.pc.connectionState === 'closed') await this.leave(BigInt(id));
    for (const id of live) if (!this.subs.has(id)) await this.join(BigInt(id)).catch((e: Error) => this.o.log?.(`[thumbnails] stream ${id}: could not subscribe on LiveKit: ${e.message}`));
  }

  private async join(streamId: bigint): Promise<void> {
    const tracks = await this.plane.publisherTracks(streamId);
    if (!tracks.length) return;
    const pc = new RTCPeerConnection({
      codecs: {
        video: [
          new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, rtcpFeedback: FEEDBACK }),
          new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90_000, rtcpFeedback: FEEDBACK, parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' }),
        ],
      },
    });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const token = await this.plane.serviceToken(streamId, THUMBNAILER_IDENTITY);
    const sub: Subscription = { pc, token, joined: false };
    this.subs.set(streamId.toString(), sub);
    pc.onTrack.subscribe((track) => {
      const t = pc.getTransceivers().find((x) => x.receiver.track === track || x.kind === 'video');
      track.onReceiveRtp.subscribe((rtp) => {
        // The codec LiveKit answered with for this payload type (the offer names both).
        const mime = t?.codecs.find((c) => c.payloadType === rtp.header.payloadType)?.mimeType.toLowerCase();
        const codec: VideoCodec | null = mime === 'video/h264' ? 'H264' : mime === 'video/vp8' ? 'VP8' : null;
        if (codec && this.thumbnails.onVideo(streamId, codec, rtp)) void t?.receiver.sendRtcpPLI(rtp.header.ssrc).catch(() => {});
      });
    });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      // The offer receives video only; LiveKit answers for the tracks it has a transceiver for.
      const { answer, location } = await this.plane.whip(pc.localDescription!.sdp, token, liveKitWhipHeaders({ token, publisher: PUBLISHER_IDENTITY, tracks }));
      sub.location = location;
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      sub.joined = true;
    } catch (e) {
      this.subs.delete(streamId.toString());
      await pc.close();
      throw e;
    }
  }

  private async leave(streamId: bigint): Promise<void> {
    const s = this.subs.get(streamId.toString());
    if (!s) return;
    this.subs.delete(streamId.toString());
    this.thumbnails.unpublished(streamId);
    if (s.location) await fetch(s.location, { method: 'DELETE', headers: { Authorization: `Bearer ${s.token}` }, signal: AbortSignal.timeout(5_000) }).catch(() => {});
    await s.pc.close();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const id of [...this.subs.keys()]) await this.leave(BigInt(id));
  }
}
