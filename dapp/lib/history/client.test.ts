import { describe, expect, it } from 'vitest';
import { filledSeries } from './client.ts';

describe('filledSeries', () => {
  it('has a point per bucket of the range, zero where the history has nothing', () => {
    const H = 3_600_000;
    expect(filledSeries(new Map([[2 * H, 5]]), H + 10, 4 * H, H)).toEqual([
      { t: H, v: 0 },
      { t: 2 * H, v: 5 },
      { t: 3 * H, v: 0 },
    ]);
    expect(filledSeries(new Map(), 0, 0, H)).toEqual([]);
  });
});
