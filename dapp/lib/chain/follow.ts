/**
 * Reads that follow the chain's blocks (ChainState.follow): what the chain says changes only with a
 * block, so a page reads after each new head instead of on a timer. One head subscription serves
 * every follower; a follower's reads never overlap — a block that lands during a read runs it once
 * more afterwards, however many landed — and a slow safety timer reads too (and subscribes again if
 * the chain could not be reached), in case a notification is lost.
 */
export class BlockFollower {
  readonly #followers = new Set<() => void>();
  #heads: Promise<() => void> | null = null;

  /** `subscribe` calls its argument at every new head and resolves to the unsubscribe function. */
  constructor(private readonly subscribe: (onHead: () => void) => Promise<() => void>) {}

  /** Runs `read` after every new block until the returned function is called. */
  follow(read: () => Promise<unknown>, safetyMs = 30_000): () => void {
    let running = false;
    let again = false;
    let stopped = false;
    const run = () => {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      again = false;
      read()
        .catch(() => {}) // keep what was known; the next block reads again
        .finally(() => {
          running = false;
          if (again) run();
        });
    };
    this.#followers.add(run);
    this.#ensureSubscribed();
    const timer = setInterval(() => {
      this.#ensureSubscribed();
      run();
    }, safetyMs);
    return () => {
      stopped = true;
      clearInterval(timer);
      this.#followers.delete(run);
    };
  }

  /** Ends the head subscription (followers stay registered; the next `follow` subscribes again). */
  async close(): Promise<void> {
    const heads = this.#heads;
    this.#heads = null;
    await heads?.then((unsub) => unsub(), () => {});
  }

  #ensureSubscribed(): void {
    if (this.#heads) return;
    const p = this.subscribe(() => this.#followers.forEach((f) => f()));
    p.catch(() => {
      if (this.#heads === p) this.#heads = null;
    });
    this.#heads = p;
  }
}
