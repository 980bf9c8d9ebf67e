/** Small HTTP helpers of the app's server: JSON answers, bounded bodies, a per-IP token bucket. */
import { Refusal } from '../refusals.ts';

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

/** Reads a body of at most `max` bytes; a larger one is refused with 413 without reading it all. */
export async function readBody(req: Request, max: number): Promise<string> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > max) throw new Refusal('BodyTooLarge', `the body is larger than ${max} bytes`);
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new Refusal('BodyTooLarge', `the body is larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Per-key token bucket: `ratePerSecond` tokens refill continuously up to `burst`. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now = () => Date.now(),
  ) {}

  take(key: string): boolean {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.ratePerSecond);
    b.at = t;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.buckets.set(key, b);
    if (this.buckets.size > 10_000) this.sweep(t);
    return ok;
  }

  private sweep(t: number) {
    for (const [k, b] of this.buckets) if (t - b.at > (this.burst / this.ratePerSecond) * 1000) this.buckets.delete(k);
  }
}
