/**
 * The selective forwarding unit, on werift (a WebRTC stack in TypeScript, in this Node process).
 * One publisher per stream (WHIP); each viewer (WHEP) gets its own peer connection with one sender per
 * kind. Every RTP packet of the publisher is written to each viewer whose `open` flag is set — the
 * payment gate (gate.ts) sets and clears that flag; a closed viewer's connection stays up, it just
 * receives nothing. On reopening, the sender rebases sequence numbers and timestamps
 * (`replaceRTP`) and the publisher is asked for a keyframe (PLI), so the picture resumes at once.
 */
import { randomUUID } from 'node:crypto';
import { Refusal } from '../refusals.ts';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RtpPacket,
  type RTCRtpTransceiver,
  type PeerConfig,
} from 'werift';
import type { Admission } from './publishers.ts';

/** An offer the SFU cannot take: refused as 400 MalformedSdp. */
export class SdpError extends Refusal {
  constructor(message: string) {
    super('MalformedSdp', message);
  }
}

const VIDEO_FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'goog-remb' }];

/** What publishers may send: VP8 (browsers), H.264 constrained baseline (OBS's WHIP output), Opus. */
export const VIDEO_CODECS = () => [
  new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, rtcpFeedback: VIDEO_FEEDBACK }),
  new RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90_000,
    rtcpFeedback: VIDEO_FEEDBACK,
    parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  }),
];
export const AUDIO_CODECS = () => [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2 })];

export interface SfuOptions {
  /** Extra host addresses for ICE (e.g. 127.0.0.1 for loopback-only tests). */
  iceAdditionalHostAddresses?: string[];
  icePortRange?: [number, number];
  /** Called with the size of every RTP packet sent to a viewer. */
  onForward?: (bytes: number) => void;
  /** Largest accepted SDP, in bytes. */
  maxSdpBytes?: number;
  /** Sees each video packet of a stream's publisher; true asks the publisher for a keyframe (thumbnails). */
  onPublisherVideo?: (streamId: bigint, codec: 'H264' | 'VP8', rtp: RtpPacket) => boolean;
  /** A stream's publisher left. */
  onUnpublish?: (streamId: bigint) => void;
}

type Kind = 'audio' | 'video';

/** A publisher from whom no RTP arrived for this long is not sending (a closed tab, a dead encoder). */
export const SILENT_MS = 3_000;
/** A stream whose publisher stopped sending less than this long ago is "reconnecting", then "offline". */
export const RECONNECT_WINDOW_MS = 60_000;

/** Whether a stream is being broadcast now, as the media server sees it. */
export type Broadcast = 'live' | 'reconnecting' | 'offline';

/**
 * The rule behind `Sfu.broadcast` (and HLS's, with the playlist's last write as the last packet):
 * "live" while packets arrive (the last within `silentMs`), "reconnecting" for RECONNECT_WINDOW_MS
 * after they stop (the encoder may come back), then "offline". `lastPacketAt` 0 = never.
 */
export function broadcastState(sending: boolean, lastPacketAt: number, now: number, silentMs = SILENT_MS): Broadcast {
  if (lastPacketAt === 0) return 'offline';
  const silentFor = now - lastPacketAt;
  if (sending && silentFor <= silentMs) return 'live';
  return silentFor <= RECONNECT_WINDOW_MS ? 'reconnecting' : 'offline';
}

export class Publisher {
  readonly id = randomUUID();
  readonly codecs: Partial<Record<Kind, RTCRtpCodecParameters>> = {};
  private readonly transceivers: Partial<Record<Kind, RTCRtpTransceiver>> = {};
  private readonly ssrcs: Partial<Record<Kind, number>> = {};
  constructor(
    readonly streamId: bigint,
    readonly pc: RTCPeerConnection,
  ) {}

  /** The video codec the answer chose (set with the track; what its keyframes are depacketized as). */
  videoCodec: 'H264' | 'VP8' = 'VP8';

  /** How it was let in (publishers.ts): a session admitted with the stream key ends when the key is replaced. */
  admittedBy: Admission = 'key';

  bind(kind: Kind, t: RTCRtpTransceiver, ssrc: number) {
    this.transceivers[kind] = t;
    this.ssrcs[kind] = ssrc;
    if (kind === 'video') this.videoCodec = this.codecs.video?.mimeType.toLowerCase() === 'video/h264' ? 'H264' : 'VP8';
  }

  private lastPliAt = 0;

  /**
   * Asks the publisher for a keyframe: at most every 300 ms however many viewers ask, unless `now`
   * (a viewer whose connection has just come up: without a keyframe it shows nothing, and a PLI sent
   * moments before, while it was still connecting, gave one it could not receive).
   */
  requestKeyframe(now = false): void {
    const t = this.transceivers.video;
    const ssrc = this.ssrcs.video;
    const at = Date.now();
    if (!t || ssrc === undefined || (!now && at - this.lastPliAt < 300)) return;
    this.lastPliAt = at;
    void t.receiver.sendRtcpPLI(ssrc).catch(() => {});
  }
}

export class Viewer {
  readonly id = randomUUID();
  /** Set by the gate: RTP is written only while true. */
  open = false;
  /** Senders per kind; a fresh rebase is due after a closed spell. */
  readonly tracks: Partial<Record<Kind, { track: MediaStreamTrack; t: RTCRtpTransceiver; rebase: boolean }>> = {};
  constructor(
    readonly streamId: bigint,
    readonly viewer: string,
    readonly sessionId: bigint,
    readonly pc: RTCPeerConnection,
  ) {}
}

interface Room {
  publisher?: Publisher;
  viewers: Map<string, Viewer>;
  /** When a publisher of this stream last sent a packet (ms; survives the publisher leaving). */
  lastPacketAt: number;
}

export class Sfu {
  private readonly rooms = new Map<string, Room>();
  constructor(private readonly o: SfuOptions = {}) {}

  private config(codecs: PeerConfig['codecs']): Partial<PeerConfig> {
    return {
      codecs,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: this.o.iceAdditionalHostAddresses,
      icePortRange: this.o.icePortRange,
    };
  }

  private room(streamId: bigint): Room {
    const k = streamId.toString();
    let r = this.rooms.get(k);
    if (!r) this.rooms.set(k, (r = { viewers: new Map(), lastPacketAt: 0 }));
    return r;
  }

  publisher(streamId: bigint): Publisher | undefined {
    return this.rooms.get(streamId.toString())?.publisher;
  }

  viewers(streamId?: bigint): Viewer[] {
    if (streamId !== undefined) return [...(this.rooms.get(streamId.toString())?.viewers.values() ?? [])];
    return [...this.rooms.values()].flatMap((r) => [...r.viewers.values()]);
  }

  /** Whether the stream's publisher is sending now (see broadcastState). */
  broadcast(streamId: bigint, now = Date.now()): Broadcast {
    const room = this.rooms.get(streamId.toString());
    return broadcastState(!!room?.publisher, room?.lastPacketAt ?? 0, now);
  }

  get publisherCount(): number {
    return [...this.rooms.values()].filter((r) => r.publisher).length;
  }

  /** Answers a WHIP offer; replaces any earlier publisher of the stream (an encoder reconnecting). */
  async publish(streamId: bigint, offer: string): Promise<{ publisher: Publisher; answer: string }> {
    checkSdp(offer, this.o.maxSdpBytes);
    const pc = new RTCPeerConnection(this.config({ video: VIDEO_CODECS(), audio: AUDIO_CODECS() }));
    const pub = new Publisher(streamId, pc);
    const room = this.room(streamId);
    pc.onTransceiverAdded.subscribe((t) => {
      t.onTrack.subscribe((track) => {
        const kind = track.kind as Kind;
        pub.codecs[kind] = t.codecs[0];
        pub.bind(kind, t, track.ssrc ?? 0);
        track.onReceiveRtp.subscribe((rtp) => this.forward(room, pub, kind, rtp));
        if (kind === 'video') pub.requestKeyframe();
      });
    });
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      if (!pc.getTransceivers().some((t) => t.kind === 'video' || t.kind === 'audio')) throw new SdpError('the offer has no audio or video');
      await pc.setLocalDescription(await pc.createAnswer());
    } catch (e) {
      await pc.close().catch(() => {});
      throw e instanceof SdpError ? e : new SdpError(`the offer is not valid SDP: ${(e as Error).message}`);
    }
    // The codecs the answer chose (before any RTP arrives).
    for (const t of pc.getTransceivers()) {
      const kind = t.kind as Kind;
      if ((kind === 'video' || kind === 'audio') && t.codecs[0] && !pub.codecs[kind]) pub.codecs[kind] = t.codecs[0];
    }
    if (!pub.codecs.video && !pub.codecs.audio) {
      await pc.close().catch(() => {});
      throw new SdpError('the offer has no codec this server accepts (VP8, H.264 baseline, Opus)');
    }
    const old = room.publisher;
    room.publisher = pub;
    if (old) await this.unpublish(streamId, old.id, { keepViewers: true });
    pc.connectionStateChange.subscribe((s) => {
      if (s === 'failed' || s === 'closed') void this.unpublish(streamId, pub.id);
    });
    return { publisher: pub, answer: pc.localDescription!.sdp };
  }

  /** Ends publishing; the stream's viewers are disconnected (their codecs may not fit the next one). */
  async unpublish(streamId: bigint, publisherId: string, { keepViewers = false } = {}): Promise<boolean> {
    const room = this.rooms.get(streamId.toString());
    if (!room) return false;
    const pub = room.publisher?.id === publisherId ? room.publisher : undefined;
    if (pub) room.publisher = undefined;
    if (pub && !room.publisher) this.o.onUnpublish?.(streamId);
    if (!pub && !keepViewers) return false;
    if (pub) await pub.pc.close().catch(() => {});
    if (!keepViewers) for (const v of [...room.viewers.values()]) await this.leave(v);
    return true;
  }

  /** Answers a WHEP offer with the publisher's codecs; the viewer starts closed (the gate opens it). */
  async view(streamId: bigint, viewerAddr: string, sessionId: bigint, offer: string): Promise<{ viewer: Viewer; answer: string }> {
    checkSdp(offer, this.o.maxSdpBytes);
    const room = this.room(streamId);
    const pub = room.publisher;
    if (!pub) throw new Error('no publisher');
    const codecs: PeerConfig['codecs'] = {
      video: pub.codecs.video ? [cloneCodec(pub.codecs.video)] : [],
      audio: pub.codecs.audio ? [cloneCodec(pub.codecs.audio)] : [],
    };
    const pc = new RTCPeerConnection(this.config(codecs));
    const v = new Viewer(streamId, viewerAddr, sessionId, pc);
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      for (const t of pc.getTransceivers()) {
        const kind = t.kind as Kind;
        if ((kind !== 'video' && kind !== 'audio') || !pub.codecs[kind] || v.tracks[kind]) continue;
        const track = new MediaStreamTrack({ kind });
        t.direction = 'sendonly';
        await t.sender.replaceTrack(track);
        // A viewer that lost a keyframe asks for one (PLI): pass it to the publisher (rate-limited),
        // or its picture freezes until the encoder's next scheduled keyframe.
        if (kind === 'video') t.sender.onPictureLossIndication.subscribe(() => this.publisher(streamId)?.requestKeyframe());
        v.tracks[kind] = { track, t, rebase: false };
      }
      if (!v.tracks.video && !v.tracks.audio) throw new SdpError('the offer asks for no media this stream has');
      await pc.setLocalDescription(await pc.createAnswer());
    } catch (e) {
      await pc.close().catch(() => {});
      throw e instanceof SdpError ? e : new SdpError(`the offer is not valid SDP: ${(e as Error).message}`);
    }
    room.viewers.set(v.id, v);
    pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected' && v.open) pub.requestKeyframe(true);
      if (s === 'failed' || s === 'closed') void this.leave(v);
    });
    return { viewer: v, answer: pc.localDescription!.sdp };
  }

  /** Opens or closes a viewer's flow (the gate's decision). */
  setOpen(v: Viewer, open: boolean): void {
    if (v.open === open) return;
    v.open = open;
    if (open) {
      for (const s of Object.values(v.tracks)) s.rebase = true;
      // A viewer still connecting is asked for at 'connected' (a keyframe now would not reach it).
      if (v.pc.connectionState === 'connected') this.publisher(v.streamId)?.requestKeyframe();
    }
  }

  async leave(v: Viewer): Promise<void> {
    const room = this.rooms.get(v.streamId.toString());
    if (!room?.viewers.delete(v.id)) return;
    v.open = false;
    await v.pc.close().catch(() => {});
  }

  find(streamId: bigint, viewerId: string): Viewer | undefined {
    return this.rooms.get(streamId.toString())?.viewers.get(viewerId);
  }

  private forward(room: Room, pub: Publisher, kind: Kind, rtp: RtpPacket): void {
    if (room.publisher !== pub) return;
    room.lastPacketAt = Date.now();
    if (kind === 'video' && this.o.onPublisherVideo?.(pub.streamId, pub.videoCodec, rtp)) pub.requestKeyframe(true);
    for (const v of room.viewers.values()) {
      if (!v.open) continue;
      const s = v.tracks[kind];
      if (!s) continue;
      if (s.rebase) {
        s.t.sender.replaceRTP(rtp.header);
        s.rebase = false;
      }
      s.track.writeRtp(rtp);
      this.o.onForward?.(rtp.payload.length + 12);
    }
  }

  async close(): Promise<void> {
    for (const [, room] of this.rooms) {
      for (const v of room.viewers.values()) await v.pc.close().catch(() => {});
      await room.publisher?.pc.close().catch(() => {});
    }
    this.rooms.clear();
  }
}

function cloneCodec(c: RTCRtpCodecParameters): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: c.mimeType,
    clockRate: c.clockRate,
    channels: c.channels,
    rtcpFeedback: c.rtcpFeedback,
    parameters: c.parameters,
  });
}

/** Cheap structural checks before the SDP reaches the WebRTC stack. */
export function checkSdp(sdp: string, maxBytes = 32 * 1024): void {
  if (Buffer.byteLength(sdp) > maxBytes) throw new SdpError(`the SDP is larger than ${maxBytes} bytes`);
  if (!sdp.startsWith('v=0')) throw new SdpError('the SDP must start with "v=0"');
  if (!/\r?\nm=(audio|video) /.test(sdp)) throw new SdpError('the SDP has no audio or video m-line');
  if (!/\r?\na=fingerprint:/.test(sdp)) throw new SdpError('the SDP has no DTLS fingerprint');
  if (!/\r?\na=ice-ufrag:/.test(sdp)) throw new SdpError('the SDP has no ICE credentials');
}
