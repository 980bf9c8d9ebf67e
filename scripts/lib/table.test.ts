import { describe, expect, it } from 'vitest';
import { table } from './table.ts';
import { humanOutput } from '../creator.ts';

describe('command-line tables', () => {
  it('pads columns to the widest cell and right-aligns numbers', () => {
    expect(table(['id', 'title', 'earnings'], [[1n, 'Night jazz', 120n], [12n, 'Go', 5n]]).split('\n')).toEqual([
      'id  title       earnings',
      '──  ──────────  ────────',
      ' 1  Night jazz       120',
      '12  Go                 5',
    ]);
  });

  it("prints a creator's streams as a table, not an object dump", () => {
    const out = humanOutput({
      creator: '5Frx',
      streams: [{ id: 3n, title: 'Night jazz', category: 'music', live: true, plan: { ratePerSecond: 1_000_000n, tiers: [{}] } }],
    });
    expect(out).toBe(
      ['streams of 5Frx', 'id  title       category  status  plancks/s  tiers', '──  ──────────  ────────  ──────  ─────────  ─────', ' 3  Night jazz  music     live      1000000      1'].join('\n'),
    );
    expect(humanOutput({ earnings: [{ streamId: 3n, earnings: 40n }], total: 40n })).toContain('total: 40 plancks');
  });
});
