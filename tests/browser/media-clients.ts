/**
 * Non-browser media clients on werift, for the tests and the benchmarks:
 * - `encoderPublisher`: what OBS 30+ does — an encoder (ffmpeg: testsrc2 → H.264 baseline CBR or VP8 →
 *   RTP on a local UDP port) whose packets a WHIP client sends, the offer carrying the stream key as
 *   a Bearer token.
 * - `rtpViewer`: a WHEP client that counts the RTP it receives.
 * - `rtmpEncoderArgs`: ffmpeg arguments for an older encoder publishing over RTMP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, type RtpPacket } from 'werift';

const FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }];
export const H264 = () =>
  new RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90_000,
    rtcpFeedback: FEEDBACK,
    parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  });
export const VP8 = () => new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, rtcpFeedback: FEEDBACK });

export interface EncoderPublisher {
  pc: RTCPeerConnection;
  location: string;
  ffmpeg: ChildProcess;
  /** RTP packets the encoder produced so far. */
  packets: () => number;
  /** RTP payload bytes the encoder produced so far. */
  bytes: () => number;
  stop(): Promise<void>;
}

export async function encoderPublisher(o: {
  baseUrl: string;
  streamId: bigint;
  streamKey: string;
  /** The WHIP endpoint, when not the app's `/whip/<stream id>` (LiveKit's `/whip/v1`). */
  whipUrl?: string;
  codec?: 'h264' | 'vp8';
  size?: string;
  bitrate?: string;
  /** Sees every RTP packet as it leaves the encoder (for latency measurements). */
  onPacket?: (rtp: Buffer) => void;
}): Promise<EncoderPublisher> {
  const codec = o.codec ?? 'h264';
  const pc = new RTCPeerConnection({ codecs: { video: [codec === 'h264' ? H264() : VP8()] } });
  const track = new MediaStreamTrack({ kind: 'video' });
  pc.addTransceiver(track, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch(o.whipUrl ?? `${o.baseUrl}/whip/${o.streamId}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${o.streamKey}` },
    body: pc.localDescription!.sdp,
  });
  if (res.status !== 201) {
    await pc.close();
    throw new Error(`WHIP refused: ${res.status} ${await res.text()}`);
  }
  const location = new URL(res.headers.get('Location')!, o.baseUrl).toString();
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });

  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  let packets = 0;
  let bytes = 0;
  sock.on('message', (buf) => {
    packets++;
    bytes += buf.length - 12;
    o.onPacket?.(buf);
    track.writeRtp(buf);
  });
  const enc =
    codec === 'h264'
      ? // Constant bitrate with filler, as OBS's default (CBR) sends: the bitrate asked for is the bitrate sent.
        ['-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
          '-minrate', o.bitrate ?? '1500k', '-maxrate', o.bitrate ?? '1500k', '-bufsize', o.bitrate ?? '1500k', '-x264-params', 'nal-hrd=cbr']
      : // libvpx undershoots a lot on synthetic video unless held to a constant rate.
        ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-minrate', o.bitrate ?? '1500k', '-maxrate', o.bitrate ?? '1500k'];
  const ffmpeg = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `testsrc2=size=${o.size ?? '1280x720'}:rate=30`,
      ...enc, '-b:v', o.bitrate ?? '1500k', '-g', '30', '-f', 'rtp', `rtp://127.0.0.1:${sock.address().port}?pkt_size=1200`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return {
    pc,
    location,
    ffmpeg,
    packets: () => packets,
    bytes: () => bytes,
    stop: async () => {
      ffmpeg.kill('SIGKILL');
      sock.close();
      // LiveKit's WHIP asks for the token again to end the session; the app's endpoint needs none.
      await fetch(location, { method: 'DELETE', headers: o.whipUrl ? { Authorization: `Bearer ${o.streamKey}` } : {} }).catch(() => {});
      await pc.close();
    },
  };
}

export interface RtpViewer {
  pc: RTCPeerConnection;
  status: number;
  error?: string;
  /** Video RTP packets and payload bytes received. */
  received: () => { packets: number; bytes: number; lastAt: number };
  stop(): Promise<void>;
}

export async function rtpViewer(
  o: {
    baseUrl: string;
    streamId: bigint;
    onRtp?: (rtp: RtpPacket) => void;
    /** The payment headers (tabWhepHeaders), or LiveKit's `Authorization: Bearer <token>`. */
    headers: Record<string, string>;
    /** The endpoint, when not the app's `/whep/<stream id>` (LiveKit's WHIP, with a receive-only offer). */
    url?: string;
  },
): Promise<RtpViewer> {
  const pc = new RTCPeerConnection({ codecs: { video: [VP8(), H264()] } });
  pc.addTransceiver('video', { direction: 'recvonly' });
  let packets = 0;
  let bytes = 0;
  let lastAt = 0;
  pc.onTrack.subscribe((t) =>
    t.onReceiveRtp.subscribe((rtp) => {
      packets++;
      bytes += rtp.payload.length;
      lastAt = Date.now();
      o.onRtp?.(rtp);
    }),
  );
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch(o.url ?? `${o.baseUrl}/whep/${o.streamId}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', ...o.headers },
    body: pc.localDescription!.sdp,
  });
  const text = await res.text();
  if (res.status !== 201) {
    await pc.close();
    return { pc, status: res.status, error: text, received: () => ({ packets, bytes, lastAt }), stop: async () => {} };
  }
  const location = new URL(res.headers.get('Location')!, o.baseUrl).toString();
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  return {
    pc,
    status: res.status,
    received: () => ({ packets, bytes, lastAt }),
    stop: async () => {
      await fetch(location, { method: 'DELETE', headers: o.url && o.headers.Authorization ? { Authorization: o.headers.Authorization } : {} }).catch(() => {});
      await pc.close();
    },
  };
}

/**
 * ffmpeg arguments that publish `seconds` of 640×360 H.264 test video to the RTMP `url`, as an older
 * encoder would; `audio`: with a 440 Hz tone in AAC, as an encoder with a microphone sends (and the
 * video in High profile with B-frames, as OBS's x264 defaults do).
 */
export function rtmpEncoderArgs(url: string, seconds: number, o: { audio?: boolean } = {}): string[] {
  return [
    '-hide_banner', '-loglevel', 'error', '-re', '-t', String(seconds),
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
    ...(o.audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-c:a', 'aac', '-b:a', '128k'] : []),
    ...(o.audio
      ? ['-c:v', 'libx264', '-profile:v', 'high', '-preset', 'veryfast', '-bf', '2', '-b:v', '1500k']
      : ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency']),
    '-pix_fmt', 'yuv420p', '-g', '30',
    '-f', 'flv', url,
  ];
}

/** A picture's width and height, as ffprobe reads them. */
export async function pictureSize(bytes: Uint8Array): Promise<{ width: number; height: number }> {
  const p = spawn('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'json', '-i', 'pipe:0']);
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  p.stdin.end(bytes);
  await new Promise((r) => p.on('close', r));
  const { width, height } = (JSON.parse(out) as { streams: { width: number; height: number }[] }).streams[0];
  return { width, height };
}
