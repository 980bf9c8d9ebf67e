import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.ts';

const idle = { publishers: 0, viewers: 0, viewersOpen: 0, hlsViewers: 0 };

describe('the media server metrics', () => {
  it('count what happened, by reason, with the settlement latency as a histogram', async () => {
    const m = new Metrics();
    m.forwarded(1200);
    m.forwarded(300);
    m.accepted();
    m.reject('StaleVoucher');
    m.reject('StaleVoucher');
    m.deny('NotPaying');
    m.settled(0.8, 3);
    m.settled(4, 2);
    m.settlementFailed();
    const text = await m.render({ publishers: 1, viewers: 3, viewersOpen: 2, hlsViewers: 0 });
    for (const line of [
      'vilo_publishers 1',
      'vilo_viewers 3',
      'vilo_viewers_receiving 2',
      'vilo_bytes_forwarded_total 1500',
      'vilo_vouchers_accepted_total 1',
      'vilo_vouchers_rejected_total{reason="StaleVoucher"} 2',
      'vilo_gate_denials_total{reason="NotPaying"} 1',
      'vilo_settlements_total 2',
      'vilo_settled_vouchers_total 5',
      'vilo_settlement_failures_total 1',
      'vilo_settlement_seconds_bucket{le="0.5"} 0',
      'vilo_settlement_seconds_bucket{le="1"} 1',
      'vilo_settlement_seconds_bucket{le="5"} 2',
      'vilo_settlement_seconds_bucket{le="+Inf"} 2',
      'vilo_settlement_seconds_count 2',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
    expect(text).toMatch(/^# TYPE vilo_settlement_seconds histogram$/m);
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    // Bytes are handed over at each scrape: a second scrape counts them once, and adds what came since.
    expect(await m.render(idle)).toMatch(/^vilo_bytes_forwarded_total 1500$/m);
    m.forwarded(500);
    expect(await m.render(idle)).toMatch(/^vilo_bytes_forwarded_total 2000$/m);
  });

  it('keep each server’s counts apart, and gauges say what is connected at the scrape', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.accepted();
    expect(await b.render(idle)).toMatch(/^vilo_vouchers_accepted_total 0$/m);
    expect(await a.render({ ...idle, viewers: 4 })).toMatch(/^vilo_viewers 4$/m);
    expect(await a.render(idle)).toMatch(/^vilo_viewers 0$/m);
  });
});
