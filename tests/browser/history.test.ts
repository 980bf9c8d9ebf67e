/**
 * Tips and the history in a real Chromium, served by the app with its event indexer on (PGlite):
 * a viewer tips from the watch page with a message; a second viewer sees the tip; the tipper's wallet
 * page lists it; the creator's studio shows the earnings (after the fee) from the indexer, the tip,
 * and a CSV export with the row — all of it from the chain's blocks, not from what a page saw.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser, screenshot, startApp, type App } from './harness.ts';
import { ownDeploymentFile } from './media-helpers.ts';
import { connectWallet, failing, freshViewer, go, number, open, poll } from './dapp-helpers.ts';
import { setupEnv, type Env } from '../e2e/helpers.ts';
import { liveStream } from '../e2e/protocol-helpers.ts';
import { scratchDir } from '../scratch.ts';

let env: Env;
let app: App;
let browser: Browser;
const s = () => ({ browser, env, app });

beforeAll(async () => {
  env = await setupEnv();
  const dir = scratchDir('history-browser');
  app = await startApp(inject('chainUrl'), ownDeploymentFile(), {
    VILO_RELAY_DB: join(dir, 'relay.sqlite'),
    VILO_HISTORY_DB: join(dir, 'history'),
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await env?.api.disconnect();
});

/** Waits until the app's indexer has stored the chain's current finalized block. */
async function indexed(): Promise<void> {
  const head = (await env.api.rpc.chain.getHeader(await env.api.rpc.chain.getFinalizedHead())).number.toNumber();
  await poll(
    async () => ((await (await fetch(`${app.url}/api/history/status`)).json().catch(() => ({}))) as { indexedTo?: { number: number } }).indexedTo?.number ?? 0,
    { timeout: 240_000 },
  ).toBeGreaterThanOrEqual(head);
}

describe('tips and the history', { retry: 1 }, () => {
  it('a tip with a message reaches the creator less the fee; both viewers, the wallet page and the studio (CSV too) show it', async () => {
    const cora = await freshViewer(env, 'Cora');
    const streamId = await liveStream(env, cora.pair);
    const tess = await freshViewer(env, 'Tess');
    const uma = await freshViewer(env, 'Uma');
    const { value: feeBps } = await env.payments.query.feeBps(env.accounts.alice.address);

    const tipper = await open(s(), [{ uri: tess.uri, name: tess.name }]);
    await connectWallet(app, tipper, 'Tess');
    await go(app, tipper.page, `/watch/${streamId}`);
    await poll(() => tipper.page.getByTestId('no-tips').count(), { timeout: 240_000 }).toBe(1);
    await tipper.page.getByTestId('tip-amount').fill('0.002');
    await tipper.page.getByTestId('tip-message').fill('Great show 🎉');
    await tipper.page.getByTestId('send-tip').click();
    await poll(() => tipper.page.getByTestId('tipped').textContent()).toContain('Sent 0.002');

    // On chain: the tip is in the stream's earnings, less the fee.
    const amount = 2_000_000_000n;
    const fee = (amount * BigInt(feeBps)) / 10_000n;
    expect((await env.payments.query.earningsOf(cora.address, streamId)).value).toBe(amount - fee);

    await indexed();
    await poll(() => tipper.page.getByTestId('tips').textContent(), { timeout: 15_000 }).toContain('Great show 🎉');

    const other = await open(s(), [{ uri: uma.uri, name: uma.name }]);
    await connectWallet(app, other, 'Uma');
    await go(app, other.page, `/watch/${streamId}`);
    await poll(() => other.page.getByTestId('tips').textContent()).toContain('Great show 🎉');
    expect(await other.page.getByTestId('tips').textContent()).toContain('0.002');

    // The tipper's wallet page lists the tip, with its message and fee.
    await go(app, tipper.page, '/wallet');
    const tipRow = tipper.page.locator('[data-testid="history-items"] li[data-kind="tip"]');
    await poll(() => tipRow.count()).toBe(1);
    expect(await tipRow.textContent()).toContain('Great show 🎉');
    await screenshot(tipper.page, 'history-wallet');

    // The creator's studio: the earnings and the tip come from the indexer.
    const creator = await open(s(), [{ uri: cora.uri, name: cora.name }]);
    await connectWallet(app, creator, 'Cora');
    await go(app, creator.page, `/creator/${streamId}`);
    await poll(() => number(creator.page, 'earned-all-time', 'data-plancks')).toBe(amount - fee);
    expect(await number(creator.page, 'earned-in-range', 'data-plancks')).toBe(amount - fee);
    expect(await creator.page.getByTestId('studio-tips').textContent()).toContain('Great show 🎉');
    await creator.page.getByRole('button', { name: '24 hours' }).click();
    await poll(() => creator.page.getByRole('button', { name: '24 hours' }).getAttribute('aria-pressed')).toBe('true');
    expect(await number(creator.page, 'earned-in-range', 'data-plancks')).toBe(amount - fee);
    await screenshot(creator.page, 'history-studio');

    const href = await creator.page.getByTestId('earnings-csv').getAttribute('href');
    const csv = await (await fetch(app.url + href)).text();
    const rows = csv.trimEnd().split('\r\n');
    expect(rows[0]).toMatch(/^date_utc,block,kind,stream_id/);
    expect(rows.slice(1)).toHaveLength(1);
    expect(rows[1]).toContain(`,tip,${streamId},`);
    expect(rows[1]).toContain(`,${tess.address},${amount},${fee},${amount - fee},`);
    expect(rows[1]).toContain('Great show 🎉');

    // Any range of days: the tip's day holds it, the day before holds nothing.
    const day = rows[1].slice(0, 10);
    const before = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const showDays = async (from: string, to: string) => {
      await creator.page.getByTestId('history-from').fill(from);
      await creator.page.getByTestId('history-to').fill(to);
      await creator.page.getByRole('button', { name: 'Show' }).click();
    };
    await showDays(day, day);
    await poll(() => creator.page.locator('dt', { hasText: `Earned ${day} to ${day}` }).count()).toBe(1);
    expect(await number(creator.page, 'earned-in-range', 'data-plancks')).toBe(amount - fee);
    await showDays(before, before);
    await poll(() => number(creator.page, 'earned-in-range', 'data-plancks')).toBe(0n);

    for (const c of [tipper, other, creator]) expect(failing(c.errors)).toEqual([]);
  });
});
