/** Connecting to the chain, choosing a signer, and submitting extrinsics with clear errors. */
// Types of this runtime's storage, calls and runtime APIs (what `api.query…` / `api.call…` return).
import '@polkadot/api-augment';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { EventRecord, DispatchError } from '@polkadot/types/interfaces';
import type { SpRuntimeDispatchError } from '@polkadot/types/lookup';
import { cryptoWaitReady } from '@polkadot/util-crypto';

export class ChainConnectError extends Error {
  override name = 'ChainConnectError';
}

/** A dispatch error of an extrinsic, e.g. `contracts.ContractTrapped`. */
export class ExtrinsicFailedError extends Error {
  override name = 'ExtrinsicFailedError';
  constructor(
    readonly section: string,
    readonly error: string,
    readonly docs: string,
  ) {
    super(`${section}.${error}${docs ? `: ${docs}` : ''}`);
  }
}

export class SignerError extends Error {
  override name = 'SignerError';
}

/** Connects to `url` or fails with a ChainConnectError after `timeoutMs`. */
export async function connect(url: string, timeoutMs = 15_000): Promise<ApiPromise> {
  const provider = new WsProvider(url, false);
  let timeout: NodeJS.Timeout | undefined;
  const timer = new Promise<never>((_, fail) => {
    timeout = setTimeout(() => fail(new ChainConnectError(`no chain answered at ${url} within ${timeoutMs / 1000}s`)), timeoutMs);
  });
  try {
    await Promise.race([provider.connect(), timer]);
    return await Promise.race([ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true }), timer]);
  } catch (e) {
    await provider.disconnect().catch(() => {});
    throw e instanceof ChainConnectError ? e : new ChainConnectError(`cannot connect to ${url}: ${(e as Error).message}`);
  } finally {
    // A pending timer keeps Node running: every command used to wait out the whole timeout
    // (15 s) after its work was done before the process could exit.
    clearTimeout(timeout);
  }
}

/** True on chains whose dev accounts are public knowledge (local development chains). */
export async function isDevChain(api: ApiPromise): Promise<boolean> {
  const [type, name] = await Promise.all([api.rpc.system.chainType(), api.rpc.system.chain()]);
  return type.isDevelopment || type.isLocal || /local|dev/i.test(name.toString());
}

/**
 * The signer named by a secret URI (`suri`, e.g. from VILO_SURI), or `//Alice` on a dev chain.
 * Refuses to fall back to a dev account on any other chain.
 */
export async function signerFrom(api: ApiPromise, suri: string | undefined): Promise<KeyringPair> {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 ?? 42 });
  if (suri) {
    try {
      return keyring.addFromUri(suri);
    } catch (e) {
      throw new SignerError(`the secret URI is not valid: ${(e as Error).message}`);
    }
  }
  if (!(await isDevChain(api))) {
    throw new SignerError('no signer: set VILO_SURI to a secret URI (dev accounts are only used on local chains)');
  }
  return keyring.addFromUri('//Alice');
}

export interface Included {
  blockHash: string;
  events: EventRecord[];
}

/** Turns a DispatchError into an ExtrinsicFailedError with the pallet's name for it. */
export function dispatchFailure(api: ApiPromise, err: DispatchError | SpRuntimeDispatchError): ExtrinsicFailedError {
  if (err.isModule) {
    const meta = api.registry.findMetaError(err.asModule);
    return new ExtrinsicFailedError(meta.section, meta.name, meta.docs.join(' '));
  }
  return new ExtrinsicFailedError('system', err.type, err.toString());
}

/** Signs and submits `tx`, resolves once it is in a block; rejects with ExtrinsicFailedError on failure. */
export function signAndWait(api: ApiPromise, tx: SubmittableExtrinsic<'promise'>, signer: KeyringPair): Promise<Included> {
  return new Promise((ok, fail) => {
    let unsub: (() => void) | undefined;
    // Immortal (era 0): a mortal era names a recent block hash, and right after chopsticks starts the
    // client's idea of that block can be one the chain has already replaced (seen: badProof).
    tx.signAndSend(signer, { nonce: -1, era: 0 }, (result) => {
      if (result.isError) {
        unsub?.();
        fail(new ExtrinsicFailedError('pool', result.status.type, 'the transaction was dropped or invalid'));
        return;
      }
      if (!result.status.isInBlock && !result.status.isFinalized) return;
      unsub?.();
      if (result.dispatchError) fail(dispatchFailure(api, result.dispatchError));
      else ok({ blockHash: (result.status.isInBlock ? result.status.asInBlock : result.status.asFinalized).toHex(), events: result.events });
    })
      .then((u) => {
        unsub = u;
      })
      .catch((e) => fail(new ExtrinsicFailedError('pool', 'Rejected', (e as Error).message)));
  });
}
