import { describe, expect, it } from 'vitest';
import { chartPath } from './chart.ts';

describe('chartPath', () => {
  it('scales points into the box, first at the left, highest at the top', () => {
    const c = chartPath([{ t: 0, v: 0 }, { t: 10, v: 5 }, { t: 20, v: 10 }], 100, 50, 5);
    expect(c.line).toBe('M5.0,45.0 L50.0,25.0 L95.0,5.0');
    expect(c.area.endsWith('L95.0,45 L5.0,45 Z')).toBe(true);
    expect([c.min, c.max]).toEqual([0, 10]);
  });
  it('draws a flat line for one point or equal values, and nothing for none', () => {
    expect(chartPath([], 100, 50, 5).line).toBe('');
    expect(chartPath([{ t: 1, v: 3 }], 100, 50, 5).line).toBe('M5.0,5.0 L95.0,5.0');
    expect(chartPath([{ t: 1, v: 0 }, { t: 2, v: 0 }], 100, 50, 5).line).toBe('M5.0,45.0 L95.0,45.0');
  });
});
