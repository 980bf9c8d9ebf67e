import { describe, expect, it } from 'vitest';
import { fetchPresence, offAirSentence, onAir } from './presence.ts';
import { broadcastState, RECONNECT_WINDOW_MS, SILENT_MS } from '../server/media/sfu.ts';

describe('on air', () => {
  it('is live only while the registry says live and a publisher sends', () => {
    expect(onAir(true, { state: 'live', viewers: 2 })).toBe('live');
    expect(onAir(false, { state: 'live', viewers: 2 })).toBe('offline'); // the creator set it offline
    expect(onAir(true, { state: 'reconnecting', viewers: 0 })).toBe('reconnecting');
    expect(onAir(true, undefined)).toBe('offline'); // the media server never saw a publisher
  });

  it('says why a viewer cannot join', () => {
    expect(offAirSentence('offline', true)).toMatch(/Nobody is broadcasting/);
    expect(offAirSentence('reconnecting', true)).toMatch(/reconnect\. Nothing is charged/);
    expect(offAirSentence('offline', false)).toMatch(/offline/);
  });

  it('asks the media server for at most 200 streams a request', async () => {
    const asked: string[] = [];
    const fetcher = (async (url: string) => {
      asked.push(url);
      const ids = new URL(url, 'http://x').searchParams.get('ids')!.split(',');
      return new Response(JSON.stringify({ streams: Object.fromEntries(ids.map((id) => [id, { state: 'live', viewers: 1 }])) }));
    }) as typeof fetch;
    const ids = Array.from({ length: 450 }, (_, i) => BigInt(i + 1));
    const got = await fetchPresence(ids, fetcher);
    expect(asked).toHaveLength(3);
    expect(got.size).toBe(450);
    expect(got.get(450n)).toEqual({ state: 'live', viewers: 1 });
  });
});

describe('broadcast state (media server)', () => {
  const t = 1_000_000;
  it('is live while packets arrive, reconnecting after they stop, then offline', () => {
    expect(broadcastState(true, t, t + SILENT_MS)).toBe('live');
    expect(broadcastState(true, t, t + SILENT_MS + 1)).toBe('reconnecting'); // a closed tab: no packets
    expect(broadcastState(false, t, t + 10)).toBe('reconnecting'); // the publisher left
    expect(broadcastState(false, t, t + RECONNECT_WINDOW_MS + 1)).toBe('offline');
    expect(broadcastState(true, 0, t)).toBe('offline'); // connected, nothing sent yet
  });
});
