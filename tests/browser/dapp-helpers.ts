/**
 * Shared by the dApp journeys (dapp.test.ts, live.test.ts): pages with the test wallet, navigation
 * that waits for hydration, a chain-paced poll, and on-chain reads the journeys check money with.
 */
import { expect, onTestFailed } from 'vitest';
import type { ApiPromise } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { collectPageErrors, screenshot, type App } from './harness.ts';
import { injectTestWallet, type TestWallet } from './wallet.ts';
import type { Env } from '../e2e/helpers.ts';
import { signAndWait } from '../../scripts/lib/chain.ts';

export interface Ctx {
  context: BrowserContext;
  page: Page;
  wallet: TestWallet | null;
  errors: string[];
}

/**
 * Console errors that fail a journey: all of them except a 503 from POST /api/tab-vouchers — the media
 * server's answer while it cannot read the chain (ChainUnavailable, seen when this 2-core machine is
 * loaded). The ticker signs the same second again, and the journey's on-chain checks still have to
 * come out exact, so such a refusal cannot hide a wrong charge.
 */
export function failing(errors: string[]): string[] {
  return errors.filter((e) => !/status of 503 \(Service Unavailable\) \(http:\/\/[^)]*\/api\/tab-vouchers\)$/.test(e));
}

let opened = 0;

/** A browser context with the test wallet holding `accounts` (none: no wallet at all). */
export async function open(s: { browser: Browser; env: Env; app: App }, accounts: { uri: string; name: string }[] | null, viewport = { width: 1280, height: 900 }): Promise<Ctx> {
  const context = await s.browser.newContext({ viewport });
  const errors = collectPageErrors(context);
  const wallet = accounts ? await injectTestWallet(context, s.env.api, accounts) : null;
  const page = await context.newPage();
  const name = `failed-${++opened}`;
  onTestFailed(async () => {
    if (!page.isClosed()) await screenshot(page, name).catch(() => {});
    console.error(`[dapp test] page errors (${name}):`, errors, '\nserver output tail:\n', s.app.output().slice(-3000));
    // A failed journey's pages would go on signing, polling and playing through the tests after it.
    await context.close().catch(() => {});
  });
  return { context, page, wallet, errors };
}

/** Navigates and waits until the app has hydrated (controls respond). */
export async function go(app: App, page: Page, path: string): Promise<void> {
  await page.goto(app.url + path);
  await page.locator('html[data-ready="true"]').waitFor();
}

/** Connects the injected wallet on /wallet and picks `name`. */
export async function connectWallet(app: App, c: Ctx, name: string): Promise<void> {
  await go(app, c.page, `/wallet`);
  await c.page.getByRole('button', { name: 'Connect wallet' }).click();
  await c.page.getByRole('radio', { name: new RegExp(name) }).check();
  await poll(() => c.page.getByTestId('wallet-badge').textContent()).toContain(name);
}

/** expect.poll with a patience fit for a chain (a transaction takes ~1.5 s; vitest's default is 1 s). */
export function poll<T>(fn: () => T | Promise<T>, o: { timeout?: number; interval?: number } = {}) {
  return expect.poll(fn, { timeout: 30_000, interval: 250, ...o });
}

export async function number(page: Page, testId: string, attr: string): Promise<bigint> {
  return BigInt((await page.getByTestId(testId).getAttribute(attr)) ?? 'NaN');
}

export const blockNumber = async (api: ApiPromise) => (await api.rpc.chain.getHeader()).number.toNumber();

/** Plancks `to` received from `from` by balances.Transfer in blocks after `sinceBlock`. */
export async function transfers(api: ApiPromise, from: string, to: string, sinceBlock: number): Promise<bigint[]> {
  const head = (await api.rpc.chain.getHeader()).number.toNumber();
  const out: bigint[] = [];
  for (let n = sinceBlock + 1; n <= head; n++) {
    const events = await api.query.system.events.at(await api.rpc.chain.getBlockHash(n));
    for (const { event } of events) {
      if (api.events.balances.Transfer.is(event) && event.data.from.toString() === from && event.data.to.toString() === to) {
        out.push(event.data.amount.toBigInt());
      }
    }
  }
  return out;
}

/**
 * A viewer of its own for one attempt of a journey, funded with 1 UNIT by Alice: a tab is one per
 * viewer, so a retry (or another test file) must not find this one's tab open.
 */
export async function freshViewer(env: Env, label: string): Promise<{ uri: string; name: string; address: string; pair: KeyringPair }> {
  const uri = `//Alice//${label}/${Date.now()}`;
  const { Keyring } = await import('@polkadot/keyring');
  const pair = new Keyring({ type: 'sr25519' }).addFromUri(uri);
  await signAndWait(env.api, env.api.tx.balances.transferKeepAlive(pair.address, 10n ** 12n), env.accounts.alice);
  return { uri, name: label, address: pair.address, pair };
}
