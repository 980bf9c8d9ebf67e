/**
 * A test-only injected wallet: implements the standard injected-extension interface
 * (window.injectedWeb3[name].enable(origin) → { accounts, signer }) the way the Polkadot.js extension
 * injects itself, with keys held by a keyring in the test process. The page talks to it through a
 * Playwright binding; nothing about it is visible to the app except the standard interface.
 */
import type { ApiPromise } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { SignerPayloadJSON, SignerPayloadRaw } from '@polkadot/types/types';
import { u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { BrowserContext } from 'playwright-core';

export const TEST_WALLET_NAME = 'vilokanam-test-wallet';

export interface SignRequest {
  kind: 'payload' | 'raw';
  address: string;
  /** Call data (payload) or the raw message. */
  data: string;
}

export interface TestWallet {
  accounts: KeyringPair[];
  /** Every signature the page asked for, approved or not: a journey asserts how many approvals it took. */
  requests: SignRequest[];
  /** Set to false to make the next requests fail as a user's "Cancel" does. */
  approve: boolean;
}

/**
 * Injects the wallet into every page of `context`. `api` supplies the chain's type registry for
 * signing extrinsic payloads; `uris` are keyring URIs (e.g. '//Dave').
 */
export async function injectTestWallet(
  context: BrowserContext,
  api: ApiPromise,
  uris: { uri: string; name: string }[],
): Promise<TestWallet> {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 ?? 42 });
  const accounts = uris.map(({ uri, name }) => {
    const pair = keyring.addFromUri(uri);
    pair.setMeta({ name });
    return pair;
  });
  const wallet: TestWallet = { accounts, requests: [], approve: true };
  const pairOf = (address: string) => {
    const pair = accounts.find((a) => a.address === keyring.encodeAddress(address));
    if (!pair) throw new Error(`Unknown account ${address}`);
    return pair;
  };
  let nextId = 1;

  await context.exposeBinding('__viloTestWallet', async (_source, method: string, arg: unknown) => {
    switch (method) {
      case 'accounts':
        return accounts.map((a) => ({ address: a.address, name: a.meta.name as string, type: a.type }));
      case 'signPayload': {
        const payload = arg as SignerPayloadJSON;
        wallet.requests.push({ kind: 'payload', address: payload.address, data: payload.method });
        if (!wallet.approve) throw new Error('Cancelled');
        api.registry.setSignedExtensions(payload.signedExtensions);
        const { signature } = api.registry
          .createType('ExtrinsicPayload', payload, { version: payload.version })
          .sign(pairOf(payload.address));
        return { id: nextId++, signature };
      }
      case 'signRaw': {
        const raw = arg as SignerPayloadRaw;
        wallet.requests.push({ kind: 'raw', address: raw.address, data: raw.data });
        if (!wallet.approve) throw new Error('Cancelled');
        // As the Polkadot.js extension does: the message is wrapped in <Bytes>…</Bytes> before signing.
        return { id: nextId++, signature: u8aToHex(pairOf(raw.address).sign(u8aWrapBytes(raw.data))) };
      }
      default:
        throw new Error(`test wallet: unknown method ${method}`);
    }
  });

  await context.addInitScript((name: string) => {
    type Bridge = (method: string, arg?: unknown) => Promise<unknown>;
    const call: Bridge = (method, arg) => (window as unknown as { __viloTestWallet: Bridge }).__viloTestWallet(method, arg);
    const w = window as unknown as { injectedWeb3?: Record<string, unknown> };
    w.injectedWeb3 = w.injectedWeb3 ?? {};
    w.injectedWeb3[name] = {
      version: '0.0.1-test',
      enable: async (_origin: string) => ({
        accounts: {
          get: () => call('accounts'),
          subscribe: (cb: (a: unknown) => void) => {
            void call('accounts').then(cb);
            return () => undefined;
          },
        },
        signer: {
          signPayload: (payload: unknown) => call('signPayload', payload),
          signRaw: (raw: unknown) => call('signRaw', raw),
        },
      }),
    };
  }, TEST_WALLET_NAME);

  return wallet;
}
