/** SVG paths of a small line chart (no chart library): points scaled into a w × h box with padding. */
export function chartPath(points: { t: number; v: number }[], w: number, h: number, pad: number): { line: string; area: string; min: number; max: number } {
  if (points.length === 0) return { line: '', area: '', min: 0, max: 0 };
  const t0 = points[0].t;
  const t1 = points[points.length - 1].t;
  let min = Math.min(...points.map((p) => p.v));
  let max = Math.max(...points.map((p) => p.v));
  if (min === max) {
    min = Math.min(0, min);
    max = max === 0 ? 1 : max;
  }
  const x = (t: number) => pad + (t1 === t0 ? (w - 2 * pad) : ((t - t0) / (t1 - t0)) * (w - 2 * pad));
  const y = (v: number) => h - pad - ((v - min) / (max - min)) * (h - 2 * pad);
  const pts = points.length === 1 ? [{ ...points[0], t: t0 - 1 }, points[0]] : points;
  const coords = pts.map((p, i) => `${i ? 'L' : 'M'}${(points.length === 1 && i === 0 ? pad : x(p.t)).toFixed(1)},${y(p.v).toFixed(1)}`);
  const line = coords.join(' ');
  const firstX = points.length === 1 ? pad : x(t0);
  const lastX = x(t1);
  return { line, area: `${line} L${lastX.toFixed(1)},${h - pad} L${firstX.toFixed(1)},${h - pad} Z`, min, max };
}
