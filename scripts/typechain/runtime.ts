/**
 * Runtime of the generated contract bindings (copied verbatim into typechain/runtime.ts by
 * scripts/typechain.ts). Wraps @polkadot/api-contract 16: dry-runs every call, turns ink! results
 * into plain typed values, raises contract errors by name, signs with a keyring pair or an injected
 * wallet signer, reports transaction status, and decodes the contract's events.
 */
import type { ApiPromise } from '@polkadot/api';
import { Abi, ContractPromise } from '@polkadot/api-contract';
import type { Signer as PolkadotSigner } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Codec } from '@polkadot/types/types';
import type { EventRecord, DispatchError, WeightV2 } from '@polkadot/types/interfaces';
import {
  AbstractInt,
  Bool,
  BTreeMap,
  Bytes,
  Compact,
  Enum,
  Null,
  Option,
  Result as CodecResult,
  Struct,
  Text,
  Tuple,
  U8aFixed,
  Vec,
  VecFixed,
} from '@polkadot/types-codec';
import { BN } from '@polkadot/util';

/** Who signs: a keyring pair (scripts, tests) or an injected wallet account (the dApp). */
export type Signer = KeyringPair | { address: string; signer: PolkadotSigner };

export type TxStatus = 'signing' | 'submitted' | 'inBlock' | 'finalized' | 'failed';

export interface TxOptions {
  /** Plancks to send with a payable message. */
  value?: bigint;
  /** Called at each step of the transaction's life. */
  onStatus?: (status: TxStatus, detail?: string) => void;
  /** Resolve at finalization instead of inclusion. */
  waitForFinalization?: boolean;
  /**
   * Gas and storage deposit from an earlier dry run of this call (`query.<message>`), made while
   * the user was not waiting: the transaction is signed at once, without a dry run of its own. The
   * chain still decides: a call that the contract refuses now, or that needs more than the estimate
   * (with the usual 1.2× margin), fails in its block (`contracts.ContractReverted` / `OutOfGas`; the
   * contract's named error was the dry run's to give).
   */
  estimate?: { gasRequired: { refTime: bigint; proofSize: bigint }; storageDeposit: bigint };
  /**
   * The signer's nonce, when the caller has just read it (`System.Account`, a storage read) and has
   * nothing else on its way. Without it the node is asked (`system_accountNextIndex`, which also
   * counts the signer's transactions waiting in its pool; on chopsticks a runtime call, ~0.3 s). A
   * wrong nonce gets the transaction refused before any block (`Rejected`), nothing charged.
   */
  nonce?: number;
}

export interface QueryOptions {
  /** Plancks the dry run pretends to send. */
  value?: bigint;
}

/** A decoded contract event. */
export interface DecodedEvent {
  contract: string;
  name: string;
  args: Record<string, unknown>;
}

/**
 * What a transaction did, read from the block that includes it. The message's return value is not
 * here: a chain returns none to a transaction. `dryRun` is the prediction made before signing, against
 * the state before the block; with several transactions in a block it can differ from what happened
 * (two tabs opened in one block both predict the same tab id). Read what happened from `outcome`.
 */
export interface TxResult<T, E extends DecodedEvent = DecodedEvent, O extends E = E> {
  /** The dry run's return value: a prediction, not a result (undefined when sent with an `estimate`). */
  dryRun: T | undefined;
  /** The events this message documents (`Emits [...]`), emitted by this contract in this transaction, in order. */
  outcome: O[];
  /**
   * The arguments of the one outcome event named `name` (a join's ViewerJoined, a registration's
   * StreamRegistered). Throws ChainError('NoOutcome') if the block has none or several.
   */
  one<N extends O['name']>(name: N): Extract<O, { name: N }>['args'];
  blockHash: string;
  txHash: string;
  /** This contract's events in the transaction. */
  events: E[];
  /** Every event of the transaction (to decode another contract's, e.g. the payment handler's refund). */
  records: EventRecord[];
  gasRequired: { refTime: bigint; proofSize: bigint };
  storageDeposit: bigint;
  /** Transaction fee the signer paid, in plancks. */
  fee: bigint;
}

export interface QueryResult<T> {
  value: T;
  gasRequired: { refTime: bigint; proofSize: bigint };
  /** Positive: charged; negative: refunded. */
  storageDeposit: bigint;
}

/** A contract's own error, by name (`error.type`) with its fields and a human sentence. */
export class ContractError<E extends { type: string } = { type: string }> extends Error {
  override name = 'ContractError' as const;
  constructor(
    readonly contract: string,
    readonly method: string,
    readonly error: E,
    sentence: string,
  ) {
    super(sentence);
  }
}

/** The chain refused or the contract trapped (not one of the contract's named errors). */
export class ChainError extends Error {
  override name = 'ChainError' as const;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const BIG = 1n << 63n;


/** Plain JavaScript value of a decoded codec: see the generated types for the shapes. */
export function plain(codec: Codec): unknown {
  if (codec instanceof Option) return codec.isSome ? plain(codec.unwrap()) : null;
  if (codec instanceof CodecResult) return codec.isOk ? { ok: plain(codec.asOk) } : { err: plain(codec.asErr) };
  if (codec instanceof Bool) return codec.isTrue;
  if (codec instanceof Text) return codec.toString();
  if (codec instanceof AbstractInt) return codec.bitLength() > 32 ? codec.toBigInt() : codec.toNumber();
  // A `#[codec(compact)]` field: the integer inside, as any other (toJSON would give a number or hex).
  if (codec instanceof Compact) return plain(codec.unwrap());
  if (codec instanceof Bytes || codec instanceof U8aFixed) {
    // AccountId is a U8aFixed with an SS58 toString.
    return (codec as { toRawType(): string }).toRawType() === 'AccountId' ? codec.toString() : codec.toHex();
  }
  if (codec instanceof Enum) {
    if (codec.isBasic || codec.value instanceof Null) return { type: codec.type };
    const inner = plain(codec.value);
    return inner !== null && typeof inner === 'object' && !Array.isArray(inner) && codec.value instanceof Struct
      ? { type: codec.type, ...(inner as object) }
      : { type: codec.type, value: inner };
  }
  if (codec instanceof Struct) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of codec.entries()) out[String(k)] = plain(v);
    return out;
  }
  if (codec instanceof VecFixed || codec instanceof Vec || codec instanceof Tuple) {
    const items = [...(codec as unknown as Codec[])];
    if (codec instanceof VecFixed && items[0] instanceof AbstractInt && items[0].bitLength() === 8) return codec.toHex();
    return items.map(plain);
  }
  if (codec instanceof BTreeMap) return [...codec.entries()].map(([k, v]) => [plain(k), plain(v)]);
  if (codec.toRawType() === 'AccountId' || codec.toRawType() === 'AccountId32') return codec.toString();
  return codec.toJSON();
}

/** Converts generated-type inputs to what @polkadot/types accepts (enums as `{ Variant: fields }`). */
export function input(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return new BN(value.toString());
  if (Array.isArray(value)) return value.map(input);
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.type === 'string') {
      const { type, value: single, ...fields } = obj;
      return { [type]: single !== undefined ? input(single) : Object.keys(fields).length ? input(fields) : null };
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, input(v)]));
  }
  return value;
}

const weight = (w: WeightV2) => ({ refTime: w.refTime.toBigInt(), proofSize: w.proofSize.toBigInt() });

/** The gas limit a transaction asks for: the dry run's `gasRequired` plus 20 % (state may change before inclusion). */
export function withGasMargin(w: { refTime: bigint; proofSize: bigint }): { refTime: bigint; proofSize: bigint } {
  return { refTime: (w.refTime * 12n) / 10n, proofSize: (w.proofSize * 12n) / 10n };
}

/** Base of every generated contract class. */
export class InkContract {
  readonly contract: ContractPromise;
  readonly abi: Abi;

  constructor(
    readonly api: ApiPromise,
    readonly address: string,
    metadata: Record<string, unknown>,
    /** Sentence for each contract error variant, from the contract's doc comments. */
    private readonly errorSentences: Record<string, string>,
  ) {
    this.abi = new Abi(metadata, api.registry.getChainProperties());
    this.contract = new ContractPromise(api, this.abi, address);
  }

  get contractName(): string {
    return this.abi.info.contract.name.toString();
  }

  /**
   * Dry-runs `method` as `caller`. With `returnsResult` (the message returns `Result<T, Error>`),
   * a contract error is thrown as ContractError and the value is the `Ok` payload.
   */
  async call<T>(caller: string, method: string, args: unknown[], opts: QueryOptions = {}, returnsResult = false): Promise<QueryResult<T>> {
    const query = this.contract.query[method];
    if (!query) throw new ChainError('UnknownMessage', `${this.contractName} has no message ${method}`);
    const res = await query(
      caller,
      { gasLimit: this.api.registry.createType('WeightV2', { refTime: BIG, proofSize: BIG }) as WeightV2, storageDepositLimit: null, value: new BN((opts.value ?? 0n).toString()) },
      ...args.map(input),
    );
    if (res.result.isErr) throw this.dispatchError(res.result.asErr);
    const out = res.output ? plain(res.output) : null;
    // ink! 5 wraps every return value in Result<_, LangError>.
    const lang = out as { ok?: unknown; err?: { type: string } } | null;
    if (lang && 'err' in lang && lang.err) throw new ChainError(`LangError.${lang.err.type}`, `the contract could not dispatch ${method} (${lang.err.type})`);
    let value = lang && 'ok' in lang ? lang.ok : out;
    if (returnsResult) {
      const r = value as { ok?: unknown; err?: { type: string } };
      if (r.err) throw new ContractError(this.contractName, method, r.err, this.sentence(r.err));
      value = r.ok;
    }
    if (res.result.asOk.flags.isRevert) throw new ChainError('Reverted', `${this.contractName}.${method} reverted`);
    const deposit = res.storageDeposit.isCharge ? res.storageDeposit.asCharge.toBigInt() : -res.storageDeposit.asRefund.toBigInt();
    return { value: value as T, gasRequired: weight(res.gasRequired), storageDeposit: deposit };
  }

  /**
   * Dry-runs (for gas, deposit and the contract's named error), then signs and submits `method`;
   * resolves once included (or finalized) with the events named in `emits` as its outcome.
   */
  async send<T, E extends DecodedEvent, O extends E = E>(
    signer: Signer,
    method: string,
    args: unknown[],
    opts: TxOptions = {},
    returnsResult = false,
    emits: readonly string[] = [],
  ): Promise<TxResult<T, E, O>> {
    const dry = opts.estimate ? { value: undefined, ...opts.estimate } : await this.call<T>(signer.address, method, args, { value: opts.value }, returnsResult);
    const gasLimit = this.api.registry.createType('WeightV2', withGasMargin(dry.gasRequired)) as WeightV2;
    const storageDepositLimit = dry.storageDeposit > 0n ? new BN(dry.storageDeposit.toString()) : null;
    const tx = this.contract.tx[method]({ gasLimit, storageDepositLimit, value: new BN((opts.value ?? 0n).toString()) }, ...args.map(input));
    const notify = opts.onStatus ?? (() => {});
    notify('signing');
    return new Promise((resolve, reject) => {
      let unsub: (() => void) | undefined;
      const fail = (e: Error) => {
        unsub?.();
        notify('failed', e.message);
        reject(e);
      };
      const nonce = opts.nonce ?? -1;
      const [account, options] = 'signer' in signer && !('sign' in signer) ? [signer.address, { signer: signer.signer, nonce }] : [signer as KeyringPair, { nonce }];
      tx.signAndSend(account, options, (result) => {
        const st = result.status;
        if (st.isReady || st.isBroadcast) notify('submitted');
        if (result.isError || st.isInvalid || st.isDropped || st.isUsurped) return fail(new ChainError(st.type, `the transaction was ${st.type.toLowerCase()}`));
        const done = opts.waitForFinalization ? st.isFinalized : st.isInBlock || st.isFinalized;
        if (st.isInBlock) notify('inBlock');
        if (st.isFinalized) notify('finalized');
        if (!done) return;
        unsub?.();
        if (result.dispatchError) return fail(this.dispatchError(result.dispatchError));
        const blockHash = (st.isInBlock ? st.asInBlock : st.asFinalized).toHex();
        const events = this.decodeEvents(result.events) as E[];
        const outcome = events.filter((e) => emits.includes(e.name)) as O[];
        resolve({
          dryRun: dry.value,
          outcome,
          one: <N extends O['name']>(name: N) => {
            const found = outcome.filter((e) => e.name === name);
            if (found.length !== 1) throw new ChainError('NoOutcome', `expected one ${name} event from ${this.contractName}.${method} in block ${blockHash}, found ${found.length}`);
            return (found[0] as Extract<O, { name: N }>).args;
          },
          blockHash,
          txHash: tx.hash.toHex(),
          events,
          records: result.events,
          gasRequired: dry.gasRequired,
          storageDeposit: dry.storageDeposit,
          fee: result.events
            .filter(({ event }) => this.api.events.transactionPayment?.TransactionFeePaid.is(event))
            .reduce((sum, { event }) => sum + (event.data[1] as unknown as { toBigInt(): bigint }).toBigInt(), 0n),
        });
      })
        .then((u) => {
          unsub = u;
        })
        .catch((e: Error) => fail(new ChainError('Rejected', e.message)));
    });
  }

  /** This contract's events among `records` (another contract's, even with the same event types, are skipped). */
  decodeEvents(records: EventRecord[]): DecodedEvent[] {
    const out: DecodedEvent[] = [];
    for (const record of records) {
      const { event } = record;
      if (!this.api.events.contracts.ContractEmitted.is(event)) continue;
      if (event.data[0].toString() !== this.address) continue;
      const decoded = this.abi.decodeEvent(record);
      const args: Record<string, unknown> = {};
      decoded.event.args.forEach((arg, i) => {
        args[camel(arg.name)] = plain(decoded.args[i]);
      });
      out.push({ contract: this.contractName, name: decoded.event.identifier.split('::').pop()!, args });
    }
    return out;
  }

  private sentence(err: { type: string }): string {
    const base = this.errorSentences[err.type] ?? err.type;
    const fields = Object.entries(err)
      .filter(([k]) => k !== 'type')
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    return fields ? `${base} (${fields})` : base;
  }

  private dispatchError(err: DispatchError): ChainError {
    if (err.isModule) {
      const meta = this.api.registry.findMetaError(err.asModule);
      return new ChainError(`${meta.section}.${meta.name}`, meta.docs.join(' ') || `${meta.section}.${meta.name}`);
    }
    return new ChainError(err.type, err.toString());
  }
}

function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
