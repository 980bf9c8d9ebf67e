/**
 * Thumbnails from the live video: every `everyMs` (30 s by default; the first a few seconds after a
 * publisher starts) the server asks the publisher for a keyframe, takes the first whole keyframe that
 * arrives (RTP depacketized by werift: H.264 Annex B or VP8), and has Debian's ffmpeg decode it to a
 * 480-pixel-wide JPEG. An RTMP stream's picture comes from the newest HLS fragment nginx wrote. The picture is content-addressed: its name is the IPFS CID of its bytes
 * (CIDv1, raw codec, sha2-256 — what `ipfs add --cid-version 1 --raw-leaves` gives a file of one
 * block), computed here; when `VILO_IPFS_API` names a Kubo node, the picture is also added and pinned
 * there. Pictures are kept in `dir` as `<cid>.jpg`; a stream keeps its newest two (the one a page
 * may be loading stays while the next replaces it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { dePacketizeRtpPackets, type RtpPacket } from 'werift';

/** How often a live stream's thumbnail is taken again, ms. */
export const THUMBNAIL_EVERY_MS = 30_000;
/** The first thumbnail of a publisher, this long after its first packet (the encoder has settled), ms. */
const FIRST_AFTER_MS = 2_000;
/** A capture that has seen no whole keyframe this long gives up until the next turn, ms. */
const CAPTURE_TIMEOUT_MS = 5_000;
/** Packets of one frame kept at most (a 720p keyframe is ~100 packets). */
const MAX_FRAME_PACKETS = 2_000;
/** Largest picture ffmpeg may return, bytes (one IPFS block is 256 KiB: the CID stays a raw block's). */
const MAX_PICTURE_BYTES = 256 * 1024;

export type VideoCodec = 'H264' | 'VP8';

export interface Thumbnail {
  cid: string;
  takenAtMs: number;
}

export interface ThumbnailOptions {
  /** Directory of the pictures (created). */
  dir: string;
  everyMs?: number;
  /** A Kubo RPC endpoint (http://127.0.0.1:5001) to add and pin each picture to. */
  ipfsApi?: string;
  ffmpeg?: string;
  log?: (line: string) => void;
  now?: () => number;
}

interface Capture {
  since: number;
  /** Packets of the frame being received (one RTP timestamp). */
  frame: RtpPacket[];
}

interface StreamShots {
  /** When the next capture begins (ms). */
  dueAt: number;
  capture: Capture | null;
  /** A picture being decoded (no second capture meanwhile). */
  encoding: boolean;
  shots: Thumbnail[];
}

/** The IPFS CID (v1, raw, sha2-256) of `bytes`. */
export async function cidOf(bytes: Uint8Array): Promise<string> {
  return CID.create(1, raw.code, await sha256.digest(bytes)).toString();
}

export class Thumbnails {
  private readonly streams = new Map<string, StreamShots>();
  private readonly everyMs: number;
  private readonly now: () => number;

  constructor(private readonly o: ThumbnailOptions) {
    this.everyMs = o.everyMs ?? THUMBNAIL_EVERY_MS;
    this.now = o.now ?? Date.now;
    mkdirSync(o.dir, { recursive: true });
  }

  /** The newest thumbnail of `streamId`, or null. */
  latest(streamId: bigint): Thumbnail | null {
    return this.streams.get(streamId.toString())?.shots.at(-1) ?? null;
  }

  /** A stored picture by its CID (only names this server gave), or null. */
  picture(cid: string): Uint8Array<ArrayBuffer> | null {
    if (!/^b[a-z2-7]{58}$/.test(cid)) return null;
    const file = join(this.o.dir, `${cid}.jpg`);
    return existsSync(file) ? new Uint8Array(readFileSync(file)) : null;
  }

  /**
   * A video packet of `streamId`'s publisher. Returns true when it wants a keyframe now (the caller
   * sends the publisher a PLI): at the start of a capture.
   */
  onVideo(streamId: bigint, codec: VideoCodec, rtp: RtpPacket): boolean {
    const k = streamId.toString();
    const now = this.now();
    let s = this.streams.get(k);
    if (!s) this.streams.set(k, (s = { dueAt: now + FIRST_AFTER_MS, capture: null, encoding: false, shots: [] }));
    let begun = false;
    if (!s.capture) {
      if (now < s.dueAt || s.encoding) return false;
      s.capture = { since: now, frame: [] };
      s.dueAt = now + this.everyMs;
      begun = true; // and this packet may begin a keyframe already
    }
    const c = s.capture;
    if (now - c.since > CAPTURE_TIMEOUT_MS) {
      this.o.log?.(`[thumbnails] stream ${k}: no whole keyframe in ${CAPTURE_TIMEOUT_MS / 1000} s; trying again in ${this.everyMs / 1000} s`);
      s.capture = null;
      return false;
    }
    if (c.frame.length && c.frame[0].header.timestamp !== rtp.header.timestamp) c.frame = []; // a frame lost its last packet
    if (c.frame.length < MAX_FRAME_PACKETS) c.frame.push(rtp);
    if (!rtp.header.marker) return begun;
    const packets = c.frame.sort((a, b) => seqOrder(a.header.sequenceNumber, b.header.sequenceNumber));
    c.frame = [];
    if (!startsFrame(codec, packets[0].payload) || !contiguous(packets)) return begun;
    let frame: { isKeyframe: boolean; data: Buffer };
    try {
      frame = dePacketizeRtpPackets(codec === 'H264' ? 'MPEG4/ISO/AVC' : 'VP8', packets);
    } catch {
      return begun;
    }
    if (!frame.isKeyframe || !frame.data.length) return begun;
    s.capture = null;
    s.encoding = true;
    void this.encode(k, codec, frame.data)
      .catch((e: Error) => this.o.log?.(`[thumbnails] stream ${k}: ${e.message}`))
      .finally(() => (s.encoding = false));
    return begun;
  }

  /**
   * An RTMP stream's HLS directory, seen while nginx writes it: when a picture is due, the newest
   * fragment the playlist lists (complete; nginx cuts fragments at keyframes) is decoded.
   */
  onHls(streamId: bigint, dir: string): void {
    const k = streamId.toString();
    const now = this.now();
    let s = this.streams.get(k);
    if (!s) this.streams.set(k, (s = { dueAt: now, capture: null, encoding: false, shots: [] }));
    if (now < s.dueAt || s.encoding) return;
    let fragment: string | undefined;
    try {
      fragment = readFileSync(join(dir, 'index.m3u8'), 'utf8').split('\n').filter((l) => /^[\w.-]+\.ts$/.test(l.trim())).at(-1)?.trim();
    } catch {
      return;
    }
    if (!fragment) return;
    s.dueAt = now + this.everyMs;
    s.encoding = true;
    const file = join(dir, fragment);
    void Promise.resolve()
      .then(() => this.store(k, decodeToJpeg(this.o.ffmpeg ?? 'ffmpeg', 'mpegts', readFileSync(file))))
      .catch((e: Error) => this.o.log?.(`[thumbnails] stream ${k}: ${e.message}`))
      .finally(() => (s.encoding = false));
  }

  /** Forgets a stream's schedule (its publisher left); its pictures stay until replaced. */
  unpublished(streamId: bigint): void {
    const s = this.streams.get(streamId.toString());
    if (!s) return;
    s.capture = null;
    s.dueAt = this.now() + FIRST_AFTER_MS;
  }

  private encode(streamId: string, codec: VideoCodec, frame: Buffer): Promise<void> {
    const input = codec === 'H264' ? frame : ivf(frame);
    return this.store(streamId, decodeToJpeg(this.o.ffmpeg ?? 'ffmpeg', codec === 'H264' ? 'h264' : 'ivf', input));
  }

  private async store(streamId: string, picture: Promise<Buffer>): Promise<void> {
    const jpeg = await picture;
    const cid = await cidOf(jpeg);
    const file = join(this.o.dir, `${cid}.jpg`);
    if (!existsSync(file)) writeFileSync(file, jpeg);
    const s = this.streams.get(streamId);
    if (!s) return;
    if (s.shots.at(-1)?.cid !== cid) s.shots.push({ cid, takenAtMs: this.now() });
    else s.shots[s.shots.length - 1] = { cid, takenAtMs: this.now() };
    while (s.shots.length > 2) {
      const old = s.shots.shift()!;
      if (![...this.streams.values()].some((x) => x.shots.some((t) => t.cid === old.cid))) rmSync(join(this.o.dir, `${old.cid}.jpg`), { force: true });
    }
    if (this.o.ipfsApi) await pin(this.o.ipfsApi, cid, jpeg).catch((e: Error) => this.o.log?.(`[thumbnails] stream ${streamId}: not pinned to ${this.o.ipfsApi}: ${e.message}`));
  }
}

/** RTP sequence numbers in order across the 16-bit wrap. */
function seqOrder(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d === 0 ? 0 : d < 0x8000 ? -1 : 1;
}

/** Whether an RTP payload is a frame's first: VP8's start-of-partition bit; H.264 anything but a middle FU-A. */
function startsFrame(codec: VideoCodec, payload: Buffer): boolean {
  if (!payload.length) return false;
  if (codec === 'VP8') return (payload[0] & 0x10) !== 0 && (payload[0] & 0x0f) === 0;
  const nal = payload[0] & 0x1f;
  return nal !== 28 || (payload.length > 1 && (payload[1] & 0x80) !== 0);
}

function contiguous(packets: RtpPacket[]): boolean {
  return packets.every((p, i) => i === 0 || ((packets[i - 1].header.sequenceNumber + 1) & 0xffff) === p.header.sequenceNumber);
}

/** One VP8 frame in an IVF file (what ffmpeg reads a bare VP8 frame from). */
function ivf(frame: Buffer): Buffer {
  const header = Buffer.alloc(32);
  header.write('DKIF', 0, 'ascii');
  header.writeUInt16LE(0, 4); // version
  header.writeUInt16LE(32, 6); // header size
  header.write('VP80', 8, 'ascii');
  // Width and height are read from the keyframe itself; the header's are advisory.
  header.writeUInt16LE(0, 12);
  header.writeUInt16LE(0, 14);
  header.writeUInt32LE(90_000, 16); // time base denominator
  header.writeUInt32LE(1, 20); // numerator
  header.writeUInt32LE(1, 24); // frames
  const frameHeader = Buffer.alloc(12);
  frameHeader.writeUInt32LE(frame.length, 0);
  return Buffer.concat([header, frameHeader, frame]);
}

/** Decodes the first picture of `input` (an H.264 access unit, an IVF file, an MPEG-TS fragment) to a 480-wide JPEG with ffmpeg. */
function decodeToJpeg(ffmpeg: string, format: 'h264' | 'ivf' | 'mpegts', input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', format, '-i', 'pipe:0', '-frames:v', '1', '-vf', 'scale=480:-2', '-q:v', '5', '-f', 'image2', '-c:v', 'mjpeg', 'pipe:1'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size <= MAX_PICTURE_BYTES) out.push(b);
    });
    p.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-500)));
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`ffmpeg cannot run: ${e.message}`));
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0 || !size) return reject(new Error(`ffmpeg could not decode the keyframe (exit ${code}): ${err.trim() || 'no picture'}`));
      if (size > MAX_PICTURE_BYTES) return reject(new Error(`the picture is ${size} bytes, above ${MAX_PICTURE_BYTES}`));
      resolve(Buffer.concat(out));
    });
    p.stdin.on('error', () => {}); // ffmpeg may exit before reading all of a bad frame
    p.stdin.end(input);
  });
}

/** Adds and pins `bytes` on a Kubo node (its RPC `/api/v0/add`), and checks it names them `cid`. */
async function pin(api: string, cid: string, bytes: Uint8Array): Promise<void> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), `${cid}.jpg`);
  const res = await fetch(`${api.replace(/\/$/, '')}/api/v0/add?cid-version=1&raw-leaves=true&pin=true`, { method: 'POST', body: form, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${res.status} ${(await res.text()).slice(0, 200)}`);
  const hash = ((await res.json()) as { Hash?: string }).Hash;
  if (hash !== cid) throw new Error(`the node named it ${hash}, not ${cid}`);
}
