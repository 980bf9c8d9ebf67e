/** Prometheus counters and gauges of the media server, rendered as text at GET /metrics. */
export class Metrics {
  bytesForwarded = 0;
  vouchersAccepted = 0;
  readonly vouchersRejected = new Map<string, number>();
  readonly gateDenials = new Map<string, number>();
  settlements = 0;
  settlementFailures = 0;
  settledVouchers = 0;
  /** Buckets of settlement latency (submit → in block), seconds. */
  private readonly buckets = [0.5, 1, 2, 3, 5, 10, 30];
  private readonly counts = new Array(this.buckets.length + 1).fill(0) as number[];
  private latencySum = 0;
  private latencyCount = 0;

  reject(reason: string) {
    this.vouchersRejected.set(reason, (this.vouchersRejected.get(reason) ?? 0) + 1);
  }

  deny(reason: string) {
    this.gateDenials.set(reason, (this.gateDenials.get(reason) ?? 0) + 1);
  }

  settled(seconds: number, vouchers: number) {
    this.settlements++;
    this.settledVouchers += vouchers;
    this.latencySum += seconds;
    this.latencyCount++;
    const i = this.buckets.findIndex((b) => seconds <= b);
    this.counts[i < 0 ? this.buckets.length : i]++;
  }

  render(g: { publishers: number; viewers: number; viewersOpen: number; hlsViewers: number }): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, rows: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of rows) lines.push(`${name}${labels} ${v}`);
    };
    const labelled = (m: Map<string, number>): [string, number][] => [...m].map(([k, v]) => [`{reason="${k}"}`, v]);
    metric('vilo_publishers', 'gauge', 'Connected publishers (WHIP).', [['', g.publishers]]);
    metric('vilo_viewers', 'gauge', 'Connected viewers (WHEP).', [['', g.viewers]]);
    metric('vilo_hls_viewers', 'gauge', 'Sessions that fetched HLS (RTMP streams) in the last 10 s.', [['', g.hlsViewers]]);
    metric('vilo_viewers_receiving', 'gauge', 'Viewers the payment gate currently lets media through to.', [['', g.viewersOpen]]);
    metric('vilo_bytes_forwarded_total', 'counter', 'Media bytes written to viewers (RTP over WebRTC, and HLS files).', [['', this.bytesForwarded]]);
    metric('vilo_vouchers_accepted_total', 'counter', 'Vouchers accepted by the relay.', [['', this.vouchersAccepted]]);
    metric('vilo_vouchers_rejected_total', 'counter', 'Vouchers refused, by reason.', labelled(this.vouchersRejected));
    metric('vilo_gate_denials_total', 'counter', 'Playback refused or media cut, by reason.', labelled(this.gateDenials));
    metric('vilo_settlements_total', 'counter', 'settle_tabs rounds included in blocks.', [['', this.settlements]]);
    metric('vilo_settlement_failures_total', 'counter', 'settle_tabs rounds that failed (resubmitted next round).', [['', this.settlementFailures]]);
    metric('vilo_settled_vouchers_total', 'counter', 'Vouchers submitted in included settlements.', [['', this.settledVouchers]]);
    lines.push('# HELP vilo_settlement_seconds Settlement latency, submit to inclusion.', '# TYPE vilo_settlement_seconds histogram');
    let cum = 0;
    this.buckets.forEach((b, i) => {
      cum += this.counts[i];
      lines.push(`vilo_settlement_seconds_bucket{le="${b}"} ${cum}`);
    });
    cum += this.counts[this.buckets.length];
    lines.push(`vilo_settlement_seconds_bucket{le="+Inf"} ${cum}`);
    lines.push(`vilo_settlement_seconds_sum ${this.latencySum}`, `vilo_settlement_seconds_count ${this.latencyCount}`);
    return lines.join('\n') + '\n';
  }
}
