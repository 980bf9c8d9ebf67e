/**
 * The user's wallet: injected extensions (Polkadot.js, Talisman, SubWallet, Nova) through
 * @polkadot/extension-dapp, loaded on demand; dev accounts (//Alice …) only on a local dev chain;
 * the chosen account; and the server sign-in (a signed challenge → an httpOnly session cookie).
 * One instance per app (root layout → context); nothing here is module-level.
 */
import type { Signer } from '$typechain/runtime.ts';
import type { Signer as InjectedSigner } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { ChainState } from './chain.svelte.ts';

export interface Account {
  address: string;
  name: string;
  /** The extension it comes from, or 'dev' for a development account. */
  source: string;
}

export const APP_NAME = 'Vilokanam-view';
export const DEV_ACCOUNTS = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];
const SELECTED_KEY = 'vilo:account';
const CONNECTED_KEY = 'vilo:connected';
const DEV_KEY = 'vilo:dev-accounts';

export type WalletStatus = 'idle' | 'connecting' | 'ready' | 'none' | 'error';

export class WalletState {
  status = $state<WalletStatus>('idle');
  accounts = $state<Account[]>([]);
  selectedAddress = $state<string | null>(null);
  /** The account the server's session cookie names (null: not signed in). */
  signedIn = $state<string | null>(null);
  /** Names of the extensions that answered. */
  extensions = $state<string[]>([]);
  error = $state<string | null>(null);
  #devPairs = new Map<string, KeyringPair>();

  selected = $derived(this.accounts.find((a) => a.address === this.selectedAddress) ?? null);
  isSignedIn = $derived(this.selected !== null && this.signedIn === this.selected.address);

  constructor(signedIn: string | null) {
    this.signedIn = signedIn;
  }

  /** Reconnects silently when this browser connected before (the extension remembers the approval). */
  async restore(chain: ChainState): Promise<void> {
    if (typeof localStorage === 'undefined' || this.status !== 'idle') return;
    if (localStorage.getItem(CONNECTED_KEY) === 'extension') await this.connect();
    if (localStorage.getItem(DEV_KEY) === '1' && (await chain.contracts()).devChain) await this.addDevAccounts();
  }

  /** Asks the injected extensions for access and their accounts; 'none' when no wallet is installed. */
  async connect(): Promise<void> {
    this.status = 'connecting';
    this.error = null;
    try {
      const { web3Enable, web3Accounts } = await import('@polkadot/extension-dapp');
      const injected = await web3Enable(APP_NAME);
      this.extensions = injected.map((e) => e.name);
      if (injected.length === 0) {
        this.status = 'none';
        return;
      }
      const accounts = await web3Accounts({ ss58Format: 42 });
      // One entry per address: one the extension holds is the extension's, not a dev account's.
      const held = new Set(accounts.map((a) => a.address));
      this.accounts = [
        ...accounts.filter((a, i) => accounts.findIndex((b) => b.address === a.address) === i).map((a) => ({ address: a.address, name: a.meta.name ?? 'Account', source: a.meta.source })),
        ...this.accounts.filter((a) => a.source === 'dev' && !held.has(a.address)),
      ];
      localStorage.setItem(CONNECTED_KEY, 'extension');
      this.status = 'ready';
      this.#restoreSelection();
    } catch (e) {
      this.status = 'error';
      this.error = `The wallet did not connect: ${(e as Error).message}`;
    }
  }

  /** Adds the well-known dev accounts. The caller checks the chain is a local dev chain. */
  async addDevAccounts(): Promise<void> {
    const [{ Keyring }, { cryptoWaitReady }] = await Promise.all([import('@polkadot/keyring'), import('@polkadot/util-crypto')]);
    await cryptoWaitReady();
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    const dev: Account[] = DEV_ACCOUNTS.map((n) => {
      const pair = keyring.addFromUri(`//${n}`);
      this.#devPairs.set(pair.address, pair);
      return { address: pair.address, name: `${n} (dev account)`, source: 'dev' };
    });
    // An account the extension already holds stays the extension's (one entry per address).
    const held = new Set(this.accounts.filter((a) => a.source !== 'dev').map((a) => a.address));
    this.accounts = [...this.accounts.filter((a) => a.source !== 'dev'), ...dev.filter((a) => !held.has(a.address))];
    localStorage.setItem(DEV_KEY, '1');
    if (this.status !== 'ready') this.status = 'ready';
    this.#restoreSelection();
  }

  select(address: string): void {
    this.selectedAddress = address;
    localStorage.setItem(SELECTED_KEY, address);
  }

  #restoreSelection() {
    const saved = localStorage.getItem(SELECTED_KEY);
    if (saved && this.accounts.some((a) => a.address === saved)) this.selectedAddress = saved;
    else if (!this.selected && this.accounts.length) this.selectedAddress = this.accounts[0].address;
  }

  /** The bindings' signer for the selected account. */
  async signer(): Promise<Signer> {
    const a = this.#require();
    if (a.source === 'dev') return this.#devPairs.get(a.address)!;
    const { web3FromSource } = await import('@polkadot/extension-dapp');
    const ext = await web3FromSource(a.source);
    return { address: a.address, signer: ext.signer as InjectedSigner };
  }

  /** Signs a text message with the selected account as extensions do (`<Bytes>` wrapped). */
  async signMessage(message: string): Promise<`0x${string}`> {
    const a = this.#require();
    const { stringToHex, u8aToHex, u8aWrapBytes } = await import('@polkadot/util');
    if (a.source === 'dev') return u8aToHex(this.#devPairs.get(a.address)!.sign(u8aWrapBytes(message)));
    const { web3FromSource } = await import('@polkadot/extension-dapp');
    const ext = await web3FromSource(a.source);
    if (!ext.signer.signRaw) throw new Error(`${a.source} cannot sign messages`);
    const { signature } = await ext.signer.signRaw({ address: a.address, data: stringToHex(message), type: 'bytes' });
    return signature;
  }

  /** Signs the server's challenge; the server sets the session cookie when the signature checks. */
  async signIn(): Promise<void> {
    const a = this.#require();
    this.error = null;
    const ask = await fetch('/api/auth/challenge', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ address: a.address }) });
    // Success: {nonce, message}; refusal: {error, message}.
    const challenge = (await ask.json()) as { nonce: string; message: string };
    if (!ask.ok) throw new Error(challenge.message);
    const signature = await this.signMessage(challenge.message);
    const res = await fetch('/api/auth/verify', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ address: a.address, nonce: challenge.nonce, signature }),
    });
    const body = (await res.json()) as { address?: string; message?: string };
    if (!res.ok) throw new Error(body.message ?? `sign-in failed (HTTP ${res.status})`);
    this.signedIn = body.address!;
  }

  async signOut(): Promise<void> {
    await fetch('/api/auth/session', { method: 'DELETE' });
    this.signedIn = null;
  }

  #require(): Account {
    if (!this.selected) throw new Error('Connect a wallet and choose an account first');
    return this.selected;
  }
}
