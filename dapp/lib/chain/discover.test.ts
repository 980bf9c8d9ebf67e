import { describe, expect, it } from 'vitest';
import { avatarStyle, categoriesOf, filterStreams, shortAddress, thumbnailStyle } from './discover.ts';

const row = (id: bigint, title: string, category: string, live: boolean, viewers = 0, description = '') => ({ id, title, category, live, viewers, description });
const rows = [
  row(1n, 'Morning jazz', 'music', false),
  row(2n, 'Rust live coding', 'coding', true, 3),
  row(3n, 'Chess blitz', 'games', true, 10),
  row(4n, 'Evening jazz trio', 'music', true, 3, 'piano, bass and drums'),
];

describe('discover', () => {
  it('lists categories by count, then name', () => {
    expect(categoriesOf(rows)).toEqual(['music', 'coding', 'games']);
  });
  it('puts live streams first, busiest first, newest on ties', () => {
    expect(filterStreams(rows, '', '').map((r) => r.id)).toEqual([3n, 4n, 2n, 1n]);
  });
  it('filters by category and by every word of the search', () => {
    expect(filterStreams(rows, 'music', '').map((r) => r.id)).toEqual([4n, 1n]);
    expect(filterStreams(rows, '', 'JAZZ').map((r) => r.id)).toEqual([4n, 1n]);
    expect(filterStreams(rows, '', 'jazz piano').map((r) => r.id)).toEqual([4n]);
    expect(filterStreams(rows, '', 'opera')).toEqual([]);
    expect(filterStreams(rows, '', '', true).map((r) => r.id)).toEqual([3n, 4n, 2n]);
  });
  it("finds a stream by its creator's display name", () => {
    const named = [...rows, { ...row(5n, 'Late set', 'music', false), profile: { name: 'Ravi Shankar Fan Club' } }];
    expect(filterStreams(named, '', 'ravi').map((r) => r.id)).toEqual([5n]);
    expect(filterStreams(named, '', 'ravi jazz')).toEqual([]);
  });
  it('draws a creator without an avatar from the address, with the name\'s initial', () => {
    const alice = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
    const bob = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
    expect(avatarStyle(alice, 'ravi')).toEqual({ background: avatarStyle(alice, null).background, glyph: 'R' });
    expect(avatarStyle(alice, null).glyph).toBe('5');
    expect(avatarStyle(alice, '  ').glyph).toBe('5');
    expect(avatarStyle(alice, null).background).not.toBe(avatarStyle(bob, null).background);
    expect(avatarStyle(alice, 'संगीत').glyph).toBe('स');
    expect(shortAddress(alice)).toBe('5Grw…utQY');
  });
  it('derives a stable thumbnail per stream', () => {
    expect(thumbnailStyle(2n, 'Rust', 'coding')).toEqual(thumbnailStyle(2n, 'Rust', 'coding'));
    expect(thumbnailStyle(2n, 'Rust', 'coding')).not.toEqual(thumbnailStyle(3n, 'Rust', 'coding'));
    expect(thumbnailStyle(1n, 'x', 'music').glyph).toBe('M');
  });
});
