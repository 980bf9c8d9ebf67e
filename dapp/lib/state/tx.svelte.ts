/**
 * Transactions the user started, with their status (signing → submitted → in block → finalized, or
 * failed with a sentence). One log per app instance; the layout shows it in a live region.
 */
import type { TxOptions, TxStatus } from '$typechain/runtime.ts';
import { errorSentence } from '../format/errors.ts';
import type { Token } from '../format/money.ts';

export interface TxEntry {
  id: number;
  label: string;
  status: TxStatus;
  error?: string;
}

export const STATUS_TEXT: Record<TxStatus, string> = {
  signing: 'waiting for your wallet',
  submitted: 'submitted',
  inBlock: 'in a block',
  finalized: 'finalized',
  failed: 'failed',
};

/** How long a finalized transaction stays listed. */
export const FINALIZED_SHOWN_MS = 8_000;

export class TxLog {
  entries = $state<TxEntry[]>([]);
  /** Transactions on their way now (signing, submitted, not yet in a block). Pages hold their polls
   *  meanwhile: a local chain answers one call at a time, and a poll's reads would delay the block. */
  running = $state(0);
  #next = 1;

  constructor(
    private readonly token: () => Token,
    /** Resolves when the block with this hash is finalized (transactions resolve at inclusion). */
    private readonly finalized?: (blockHash: string) => Promise<void>,
  ) {}

  /**
   * Runs `send` (a bindings transaction given the status callback); records each status. Resolves with
   * its result, or throws an Error whose message is the sentence to show (already logged).
   */
  async run<T>(label: string, send: (opts: Pick<TxOptions, 'onStatus'>) => Promise<T>): Promise<T> {
    const entry: TxEntry = { id: this.#next++, label, status: 'signing' };
    this.entries = [entry, ...this.entries].slice(0, 6);
    const update = (patch: Partial<TxEntry>) => {
      this.entries = this.entries.map((e) => (e.id === entry.id ? { ...e, ...patch } : e));
    };
    this.running++;
    try {
      const result = await send({
        onStatus: (status, detail) => {
          // A finalized status may arrive after a failure report; a failure is final.
          const cur = this.entries.find((e) => e.id === entry.id);
          if (cur?.status === 'failed') return;
          void detail;
          update({ status });
        },
      });
      const blockHash = (result as { blockHash?: unknown } | null)?.blockHash;
      if (typeof blockHash === 'string' && this.finalized) {
        // Report finality in the background; the caller goes on at inclusion.
        this.finalized(blockHash).then(
          () => {
            update({ status: 'finalized' });
            // A finalized transaction needs no more attention: drop it from the list after a while.
            setTimeout(() => (this.entries = this.entries.filter((e) => e.id !== entry.id)), FINALIZED_SHOWN_MS);
          },
          () => {},
        );
      }
      return result;
    } catch (e) {
      const sentence = errorSentence(e, this.token());
      update({ status: 'failed', error: sentence });
      throw new TxFailed(sentence, e);
    } finally {
      this.running--;
    }
  }
}

/** A transaction that failed; `message` is the sentence shown to the user. */
export class TxFailed extends Error {
  override name = 'TxFailed';
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}
