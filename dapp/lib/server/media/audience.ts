/**
 * Who is watching an RTMP stream over HLS. HLS has no connection to count: a player polls the
 * playlist (every fragment's length, 1 s here) and fetches fragments. A viewer's session counts as
 * watching while its last admitted HLS request is at most `windowMs` old.
 */
export class HlsAudience {
  private readonly lastSeen = new Map<bigint, Map<string, number>>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records an admitted (paid) HLS request of `viewer`'s session on `streamId`. */
  saw(streamId: bigint, viewer: string, sessionId: bigint): void {
    let seen = this.lastSeen.get(streamId);
    if (!seen) this.lastSeen.set(streamId, (seen = new Map()));
    seen.set(`${viewer}/${sessionId}`, this.now());
  }

  /** Sessions watching `streamId` now, or all streams' when no stream is named. */
  count(streamId?: bigint): number {
    const cutoff = this.now() - this.windowMs;
    let n = 0;
    for (const [id, seen] of this.lastSeen) {
      for (const [k, at] of seen) if (at < cutoff) seen.delete(k);
      if (seen.size === 0) this.lastSeen.delete(id);
      else if (streamId === undefined || id === streamId) n += seen.size;
    }
    return n;
  }
}
