/** Thumbnails from the live video: real VP8 keyframes (encoded by ffmpeg), packetized as RTP, decoded by ffmpeg. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift';
import { cidOf, Thumbnails } from './thumbnails.ts';

/** The first frame (a keyframe) of ffmpeg's test pattern at `n` seconds, VP8 640 × 360, without its IVF wrapping. */
function vp8Keyframe(n: number): Buffer {
  const ivf = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30,trim=start=${n}`, '-frames:v', '1', '-c:v', 'libvpx', '-f', 'ivf', 'pipe:1']);
  return ivf.subarray(32 + 12, 32 + 12 + ivf.readUInt32LE(32));
}

let seq = 0;
/** RTP packets of one VP8 frame (payload descriptor: S=1 on the first, then continuation). */
function packets(frame: Buffer, timestamp: number): RtpPacket[] {
  const out: RtpPacket[] = [];
  for (let at = 0; at < frame.length; at += 1_000) {
    const last = at + 1_000 >= frame.length;
    const header = new RtpHeader({ payloadType: 96, sequenceNumber: seq++ & 0xffff, timestamp, ssrc: 1, marker: last });
    out.push(new RtpPacket(header, Buffer.concat([Buffer.from([at === 0 ? 0x10 : 0x00]), frame.subarray(at, at + 1_000)])));
  }
  return out;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function world(everyMs = 30_000) {
  const dir = mkdtempSync(join(tmpdir(), 'vilo-thumbs-'));
  dirs.push(dir);
  let t = 1_000_000;
  const logs: string[] = [];
  const thumbs = new Thumbnails({ dir, everyMs, now: () => t, log: (l) => logs.push(l) });
  const send = (ps: RtpPacket[]) => ps.map((p) => thumbs.onVideo(7n, 'VP8', p));
  const settled = async () => {
    for (let i = 0; i < 200 && (thumbs as unknown as { streams: Map<string, { encoding: boolean }> }).streams.get('7')?.encoding; i++) await new Promise((r) => setTimeout(r, 25));
  };
  return { dir, thumbs, send, settled, logs, advance: (ms: number) => (t += ms) };
}

describe('thumbnails from the live video', () => {
  it('asks for a keyframe 2 s after the first packet, takes the first whole one as a 480-wide JPEG named by its CID, and again every period', async () => {
    const w = world();
    const key = vp8Keyframe(0);
    expect(w.send(packets(key, 0)).some(Boolean)).toBe(false); // the encoder settles first
    w.advance(2_000);
    expect(w.send(packets(key, 3_000))[0]).toBe(true); // the capture begins (a PLI to the publisher) and takes this keyframe
    w.send(packets(vp8Keyframe(2), 6_000));
    await w.settled();
    const first = w.thumbs.latest(7n)!;
    expect(first.takenAtMs).toBe(1_002_000);
    const jpeg = w.thumbs.picture(first.cid)!;
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    expect(await cidOf(jpeg)).toBe(first.cid);
    expect(first.cid).toMatch(/^bafkrei[a-z2-7]{52}$/); // CIDv1, raw, sha2-256: what `ipfs add --cid-version 1 --raw-leaves` names it
    expect(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', join(w.dir, `${first.cid}.jpg`)]).toString().trim()).toBe('480,270');

    // Within the period nothing more is taken; after it, the next picture (the pattern has moved on).
    w.advance(10_000);
    w.send(packets(vp8Keyframe(1), 9_000));
    await w.settled();
    expect(w.thumbs.latest(7n)!.cid).toBe(first.cid);
    w.advance(20_000);
    expect(w.send(packets(vp8Keyframe(1), 12_000))[0]).toBe(true);
    await w.settled();
    const second = w.thumbs.latest(7n)!;
    expect(second.cid).not.toBe(first.cid);
    expect(await cidOf(readFileSync(join(w.dir, `${second.cid}.jpg`)))).toBe(second.cid);
  });

  it('skips frames that are not keyframes or lost a packet, and gives up a capture after 5 s until the next period', async () => {
    const w = world();
    w.send(packets(vp8Keyframe(0), 0));
    w.advance(2_000);
    const delta = Buffer.from(vp8Keyframe(0));
    delta[0] |= 1; // VP8's frame tag: an inter frame
    expect(w.send(packets(delta, 6_000))[0]).toBe(true); // the capture begins
    const lossy = packets(vp8Keyframe(0), 9_000);
    w.send([lossy[0], ...lossy.slice(2)]); // the second packet never came
    await w.settled();
    expect(w.thumbs.latest(7n)).toBeNull();
    w.advance(5_001);
    w.send(packets(vp8Keyframe(0), 12_000)); // too late: given up
    await w.settled();
    expect(w.thumbs.latest(7n)).toBeNull();
    expect(w.logs.join('\n')).toMatch(/no whole keyframe in 5 s/);
  });

  it('keeps a stream’s newest two pictures and deletes older ones; refuses names it did not give', async () => {
    const w = world(1_000);
    w.send(packets(vp8Keyframe(0), 0));
    const cids: string[] = [];
    for (let n = 0; n < 3; n++) {
      w.advance(2_000);
      w.send(packets(vp8Keyframe(n), n * 10 + 1));
      await w.settled();
      cids.push(w.thumbs.latest(7n)!.cid);
    }
    expect(new Set(cids).size).toBe(3);
    expect(readdirSync(w.dir).sort()).toEqual([`${cids[1]}.jpg`, `${cids[2]}.jpg`].sort());
    expect(existsSync(join(w.dir, `${cids[0]}.jpg`))).toBe(false);
    expect(w.thumbs.picture(cids[0])).toBeNull();
    expect(w.thumbs.picture('../relay.sqlite')).toBeNull();
  });

  it('names an undecodable keyframe in the log and takes no picture', async () => {
    const w = world();
    w.send(packets(vp8Keyframe(0), 0));
    w.advance(2_000);
    const garbage = Buffer.alloc(4_000, 0x5a);
    garbage[0] = 0x10; // frame tag: a keyframe (bit 0 clear), then nonsense
    w.send(packets(garbage, 2));
    await w.settled();
    expect(w.thumbs.latest(7n)).toBeNull();
    expect(w.logs.join('\n')).toMatch(/ffmpeg could not decode the keyframe/);
  });
});
