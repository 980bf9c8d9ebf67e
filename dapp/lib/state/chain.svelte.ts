/**
 * The app's chain connection, one per app instance (created in the root layout, passed by context).
 * Connects on first use; the Polkadot libraries load then, not with the page.
 */
import type { ChainConfig } from '../config.ts';
import type { Contracts } from '../chain/connection.ts';
import { DEFAULT_TOKEN, type Token } from '../format/money.ts';

export class ChainState {
  token = $state<Token>(DEFAULT_TOKEN);
  devChain = $state(false);
  connected = $state(false);
  error = $state<string | null>(null);
  #pending: Promise<Contracts> | null = null;

  constructor(readonly config: ChainConfig) {}

  contracts(): Promise<Contracts> {
    this.#pending ??= import('../chain/connection.ts')
      .then(({ connect }) => connect(this.config))
      .then((c) => {
        this.token = c.token;
        this.devChain = c.devChain;
        this.connected = true;
        return c;
      })
      .catch((e: Error) => {
        this.#pending = null;
        this.error = `Could not reach the chain at ${this.config.chainUrl}: ${e.message}`;
        throw e;
      });
    return this.#pending;
  }

  readonly #followers = new Set<() => void>();
  #heads: Promise<() => void> | null = null;

  /**
   * Runs `read` after every new block until the returned function is called: what the chain
   * says changes only with a block, so pages read on blocks, not on a timer. (On chopsticks, the
   * default local chain, every contract read runs the runtime in its one Wasm executor, ~0.3 s,
   * shared with the block builder: idle pages polling every few seconds kept it busy and delayed a
   * viewer's open_tab by seconds.) Reads of one follower never overlap: a block that lands during a
   * read runs it once more afterwards. One head subscription serves every follower; `safetyMs` also
   * reads on a slow timer (and subscribes again if the chain was unreachable), in case a notification
   * is lost.
   */
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
    this.#heads ??= this.#subscribeHeads();
    const timer = setInterval(() => {
      this.#heads ??= this.#subscribeHeads(); // again, if the chain could not be reached before
      run();
    }, safetyMs);
    return () => {
      stopped = true;
      clearInterval(timer);
      this.#followers.delete(run);
    };
  }

  #subscribeHeads(): Promise<() => void> {
    // The first head comes at once: a block may have landed since the page's first read.
    const p = this.contracts().then(({ api }) => api.rpc.chain.subscribeNewHeads(() => this.#followers.forEach((f) => f())));
    p.catch(() => (this.#heads = null));
    return p;
  }

  /** Resolves once the block `blockHash` (already included) is finalized. */
  async finalized(blockHash: string): Promise<void> {
    const { api } = await this.contracts();
    const target = (await api.rpc.chain.getHeader(blockHash)).number.toNumber();
    await new Promise<void>((resolve, reject) => {
      let unsub: (() => void) | undefined;
      let done = false;
      api.rpc.chain
        .subscribeFinalizedHeads((h) => {
          if (done || h.number.toNumber() < target) return;
          done = true;
          unsub?.();
          resolve();
        })
        .then((u) => {
          unsub = u;
          if (done) u();
        }, reject);
    });
  }

  async disconnect(): Promise<void> {
    const p = this.#pending;
    this.#pending = null;
    const heads = this.#heads;
    this.#heads = null;
    await heads?.then((unsub) => unsub(), () => {});
    if (p) await (await p).api.disconnect();
  }
}
