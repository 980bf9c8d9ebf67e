import { describe, expect, it } from 'vitest';
import { BlockFollower } from './follow.ts';

const settle = () => new Promise((r) => setTimeout(r, 0));

/** A head source under the test's control: `head()` is a new block. */
function chain(o: { failFirst?: boolean } = {}) {
  const s = { subscribed: 0, unsubscribed: 0, onHead: () => {} };
  const follower = new BlockFollower(async (onHead) => {
    s.subscribed++;
    if (o.failFirst && s.subscribed === 1) throw new Error('the chain cannot be reached');
    s.onHead = onHead;
    return () => s.unsubscribed++;
  });
  return { follower, s, head: () => s.onHead() };
}

/** Two new heads, each left to be read. */
async function twoHeads(head: () => void) {
  for (let i = 0; i < 2; i++) {
    head();
    await settle();
  }
}

/** A read whose calls stay pending until `finish()`. */
function slowRead() {
  const pending: (() => void)[] = [];
  let calls = 0;
  return {
    read: () => {
      calls++;
      return new Promise<void>((r) => pending.push(r));
    },
    finish: () => pending.splice(0).forEach((r) => r()),
    get calls() {
      return calls;
    },
  };
}

describe('BlockFollower: pages read the chain after each block', () => {
  it('reads once per new head, and not before one', async () => {
    const { follower, head } = chain();
    let reads = 0;
    const stop = follower.follow(async () => void reads++);
    await settle();
    expect(reads).toBe(0);
    await twoHeads(head);
    expect(reads).toBe(2);
    stop();
  });

  it('never overlaps a read: heads that land during one make exactly one more read after it', async () => {
    const { follower, head } = chain();
    const r = slowRead();
    const stop = follower.follow(r.read);
    await settle();
    head();
    head();
    head();
    await settle();
    expect(r.calls).toBe(1);
    r.finish();
    await settle();
    expect(r.calls).toBe(2);
    r.finish();
    await settle();
    expect(r.calls).toBe(2);
    stop();
  });

  it('serves every follower from one subscription; a follower that stopped reads nothing more', async () => {
    const { follower, s, head } = chain();
    const counts = [0, 0];
    const stops = counts.map((_, i) => follower.follow(async () => void counts[i]++));
    await settle();
    head();
    await settle();
    expect(counts).toEqual([1, 1]);
    expect(s.subscribed).toBe(1);
    stops[0]();
    head();
    await settle();
    expect(counts).toEqual([1, 2]);
    stops[1]();
    await follower.close();
    expect(s.unsubscribed).toBe(1);
  });

  it('a failed read keeps quiet, and the next head reads again', async () => {
    const { follower, head } = chain();
    let reads = 0;
    const stop = follower.follow(async () => {
      reads++;
      if (reads === 1) throw new Error('the chain did not answer');
    });
    await settle();
    await twoHeads(head);
    expect(reads).toBe(2);
    stop();
  });

  it('reads on the safety timer too, and subscribes again there when the chain was unreachable', async () => {
    const { follower, s, head } = chain({ failFirst: true });
    let reads = 0;
    const stop = follower.follow(async () => void reads++, 50);
    await settle();
    expect([s.subscribed, reads]).toEqual([1, 0]);
    await expect.poll(() => reads, { timeout: 2_000, interval: 5 }).toBeGreaterThanOrEqual(1);
    expect(s.subscribed).toBe(2);
    const before = reads;
    head();
    await settle();
    expect(reads).toBeGreaterThan(before);
    stop();
  });
});
