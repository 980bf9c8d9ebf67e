/**
 * RTMP into LiveKit: a stream an older encoder publishes over RTMP (rtmp.ts: nginx checked its key)
 * is published into the stream's LiveKit room, so its viewers watch over WebRTC behind the same
 * gate as a WHIP publisher's — LiveKit's own ingress needs GStreamer built from source, which these
 * machines cannot fetch (docs/decisions.md §14).
 *
 * Per stream, ffmpeg reads the stream back from nginx over loopback, re-encodes its video to H.264
 * constrained baseline (an RTMP encoder's High profile with B-frames does not play over WebRTC) and
 * its audio from AAC to Opus, and sends RTP to a werift peer that publishes over LiveKit's WHIP as
 * the room's publisher. The bridge ends when the RTMP stream does (ffmpeg reads its end) or on stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { AUDIO_CODECS } from '../sfu.ts';
import { PUBLISHER_IDENTITY, type LiveKitPlane } from './plane.ts';

/** The H.264 the bridge sends: constrained baseline, what every WebRTC client decodes. */
const BASELINE = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';

export interface RtmpBridgeOptions {
  plane: LiveKitPlane;
  /** The RTMP URL nginx serves the accepted stream on (loopback). */
  source: (streamId: bigint) => string;
  /** Video bitrate of the re-encoded stream (default 2500k). */
  videoBitrate?: string;
  log?: (line: string) => void;
  /** For tests: the ffmpeg binary. */
  ffmpeg?: string;
}

interface Bridge {
  stop(): Promise<void>;
}

/** The bridges of every RTMP stream publishing now (one per stream: a new publish replaces the old). */
export class RtmpBridges {
  private readonly bridges = new Map<string, Bridge>();

  constructor(private readonly o: RtmpBridgeOptions) {}

  /** An RTMP publish of `streamId` was accepted: starts bridging it once nginx has it (in the background). */
  started(streamId: bigint): void {
    void this.bridges.get(streamId.toString())?.stop();
    const b = bridge(streamId, this.o, () => {
      if (this.bridges.get(streamId.toString()) === b) this.bridges.delete(streamId.toString());
    });
    this.bridges.set(streamId.toString(), b);
  }

  /** The RTMP publish of `streamId` ended: its publisher leaves the room at once (not after ffmpeg's read timeout). */
  ended(streamId: bigint): void {
    void this.bridges.get(streamId.toString())?.stop();
  }

  /** How many streams are being bridged now. */
  get size(): number {
    return this.bridges.size;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.bridges.values()].map((b) => b.stop()));
    this.bridges.clear();
  }
}

/** Whether the stream has audio, from nginx's metadata (ffprobe; absent or unreadable: video only). */
function hasAudio(ffprobe: string, source: string): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn(ffprobe, ['-v', 'error', '-rw_timeout', '10000000', '-analyzeduration', '1000000', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', source], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += String(d)));
    const timer = setTimeout(() => p.kill('SIGKILL'), 12_000);
    p.once('exit', () => {
      clearTimeout(timer);
      resolve(/^audio$/m.test(out));
    });
    p.once('error', () => resolve(false));
  });
}

function bridge(streamId: bigint, o: RtmpBridgeOptions, onEnd: () => void): Bridge {
  const log = (line: string) => o.log?.(`[rtmp→livekit] stream ${streamId}: ${line}`);
  const source = o.source(streamId);
  let stopped = false;
  let ffmpeg: ChildProcess | undefined;
  let pc: RTCPeerConnection | undefined;
  const sockets: Socket[] = [];
  let resource: { location: string; token: string } | undefined;

  let ended: Promise<void> | undefined;
  const end = (why: string) =>
    (ended ??= (async () => {
      stopped = true;
      ffmpeg?.kill('SIGKILL');
      for (const s of sockets) s.close();
      if (resource) {
        await fetch(resource.location, { method: 'DELETE', headers: { Authorization: `Bearer ${resource.token}` }, signal: AbortSignal.timeout(5_000) }).catch(() => {});
        await o.plane.remove(streamId, PUBLISHER_IDENTITY).catch(() => false);
      }
      await pc?.close();
      log(`ended (${why})`);
      onEnd();
    })());

  const t0 = Date.now();
  let firstRtpAt = 0;
  void (async () => {
    const audio = await hasAudio((o.ffmpeg ?? 'ffmpeg').replace(/ffmpeg$/, 'ffprobe'), source);
    if (stopped) return;
    pc = new RTCPeerConnection({
      codecs: {
        video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90_000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }], parameters: BASELINE })],
        audio: AUDIO_CODECS(),
      },
    });
    const kinds = audio ? (['video', 'audio'] as const) : (['video'] as const);
    const outputs: string[] = [];
    for (const kind of kinds) {
      const track = new MediaStreamTrack({ kind });
      pc.addTransceiver(track, { direction: 'sendonly' });
      const sock = createSocket('udp4');
      sockets.push(sock);
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      sock.on('message', (buf) => {
        if (kind === 'video' && !firstRtpAt) {
          firstRtpAt = Date.now();
          log(`first video from ffmpeg ${firstRtpAt - t0} ms after the publish`);
        }
        track.writeRtp(buf);
      });
      const rtp = `rtp://127.0.0.1:${sock.address().port}?pkt_size=1200`;
      const rate = o.videoBitrate ?? '2500k';
      outputs.push(
        ...(kind === 'video'
          ? ['-map', '0:v:0', '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '60',
              '-b:v', rate, '-maxrate', rate, '-bufsize', rate, '-f', 'rtp', rtp]
          : ['-map', '0:a:0', '-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', '96k', '-f', 'rtp', rtp]),
      );
    }
    await pc.setLocalDescription(await pc.createOffer());
    const token = await o.plane.publisherToken(streamId);
    const { answer, location } = await o.plane.whip(pc.localDescription!.sdp, token);
    resource = { location, token };
    if (stopped) return void end('stopped while connecting');
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    ffmpeg = spawn(o.ffmpeg ?? 'ffmpeg', ['-hide_banner', '-loglevel', 'error', '-rw_timeout', '10000000', '-analyzeduration', '1000000', '-fflags', 'nobuffer', '-i', source, ...outputs], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    ffmpeg.stderr?.on('data', (d) => (stderr = (stderr + String(d)).slice(-2_000)));
    ffmpeg.once('exit', (code) => void end(code === 0 ? 'the RTMP stream ended' : `ffmpeg exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
    log(`publishing into LiveKit (video${audio ? ' and audio' : ''}, re-encoded to H.264 baseline${audio ? ' and Opus' : ''}; probed and connected in ${Date.now() - t0} ms)`);
  })().catch((e: Error) => void end(`failed: ${e.message}`));

  return { stop: () => end('stopped') };
}
