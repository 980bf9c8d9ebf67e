/**
 * The app's chain connection, one per app instance (created in the root layout, passed by context).
 * Connects on first use; the Polkadot libraries load then, not with the page.
 */
import type { ChainConfig } from '../config.ts';
import type { Contracts } from '../chain/connection.ts';
import { DEFAULT_TOKEN, type Token } from '../format/money.ts';
import { BlockFollower } from '../chain/follow.ts';

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

  readonly #blocks = new BlockFollower(async (onHead) => {
    // The first head comes at once: a block may have landed since the page's first read.
    const { api } = await this.contracts();
    return api.rpc.chain.subscribeNewHeads(onHead);
  });

  /**
   * Runs `read` after every new block until the returned function is called (chain/follow.ts): pages
   * read on blocks, not on a timer. On chopsticks, the default local chain, every contract read runs
   * the runtime in its one Wasm executor, ~0.3 s, shared with the block builder: idle pages polling
   * every few seconds kept it busy and delayed a viewer's open_tab by seconds.
   */
  follow(read: () => Promise<unknown>, safetyMs = 30_000): () => void {
    return this.#blocks.follow(read, safetyMs);
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
    await this.#blocks.close();
    if (p) await (await p).api.disconnect();
  }
}
