/**
 * The media server's Prometheus metrics (prom-client), served at GET /metrics. Each server has a
 * registry of its own, so several servers in one process (the tests, the benches) never share counts.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What is connected now: read at each scrape. */
export interface MediaGauges {
  publishers: number;
  viewers: number;
  viewersOpen: number;
  hlsViewers: number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly registers = [this.registry];
  private readonly gauges = {
    publishers: new Gauge({ name: 'vilo_publishers', help: 'Connected publishers (WHIP).', registers: this.registers }),
    viewers: new Gauge({ name: 'vilo_viewers', help: 'Connected viewers (WHEP).', registers: this.registers }),
    hlsViewers: new Gauge({ name: 'vilo_hls_viewers', help: 'Sessions that fetched HLS (RTMP streams) in the last 10 s.', registers: this.registers }),
    viewersOpen: new Gauge({ name: 'vilo_viewers_receiving', help: 'Viewers the payment gate currently lets media through to.', registers: this.registers }),
  };
  /**
   * Bytes forwarded: added to for every packet to every viewer (the SFU's hot path), so a plain
   * number, handed to prom-client only when it is scraped.
   */
  private forwardedBytes = 0;
  private scrapedBytes = 0;
  private readonly bytes = new Counter({
    name: 'vilo_bytes_forwarded_total',
    help: 'Media bytes written to viewers (RTP over WebRTC, and HLS files).',
    registers: this.registers,
    collect: () => {
      this.bytes.inc(this.forwardedBytes - this.scrapedBytes);
      this.scrapedBytes = this.forwardedBytes;
    },
  });
  private readonly acceptedVouchers = new Counter({ name: 'vilo_vouchers_accepted_total', help: 'Vouchers accepted by the relay.', registers: this.registers });
  private readonly rejectedVouchers = new Counter({ name: 'vilo_vouchers_rejected_total', help: 'Vouchers refused, by reason.', labelNames: ['reason'], registers: this.registers });
  private readonly denials = new Counter({ name: 'vilo_gate_denials_total', help: 'Playback refused or media cut, by reason.', labelNames: ['reason'], registers: this.registers });
  private readonly settlements = new Counter({ name: 'vilo_settlements_total', help: 'settle_tabs rounds included in blocks.', registers: this.registers });
  private readonly failures = new Counter({ name: 'vilo_settlement_failures_total', help: 'settle_tabs rounds that failed (resubmitted next round).', registers: this.registers });
  private readonly settledVouchers = new Counter({ name: 'vilo_settled_vouchers_total', help: 'Vouchers submitted in included settlements.', registers: this.registers });
  private readonly latency = new Histogram({
    name: 'vilo_settlement_seconds',
    help: 'Settlement latency, submit to inclusion.',
    buckets: [0.5, 1, 2, 3, 5, 10, 30],
    registers: this.registers,
  });

  /** Media bytes written to a viewer. */
  forwarded(bytes: number) {
    this.forwardedBytes += bytes;
  }

  accepted() {
    this.acceptedVouchers.inc();
  }

  reject(reason: string) {
    this.rejectedVouchers.inc({ reason });
  }

  deny(reason: string) {
    this.denials.inc({ reason });
  }

  settled(seconds: number, vouchers: number) {
    this.settlements.inc();
    this.settledVouchers.inc(vouchers);
    this.latency.observe(seconds);
  }

  settlementFailed() {
    this.failures.inc();
  }

  /** The exposition text, with the gauges set to what is connected now. */
  async render(now: MediaGauges): Promise<string> {
    for (const key of Object.keys(this.gauges) as (keyof MediaGauges)[]) this.gauges[key].set(now[key]);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
