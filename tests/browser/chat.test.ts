/**
 * The live chat in a real Chromium against the app (its chat on the WebSocket of the app's own port,
 * the indexer on): two signed-in viewers chat — the one watching carries the "watching" badge, from
 * the media server — one tips and both see the tip in the chat once its block is final; where the
 * creator asks that only payers post, the one not paying is refused; the creator bans an account and
 * the ban holds across a reload.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser, screenshot, startApp, type App } from './harness.ts';
import { ownDeploymentFile, publisherPage, streamKey } from './media-helpers.ts';
import { connectWallet, failing, freshViewer, go, open, poll, type Ctx } from './dapp-helpers.ts';
import { setupEnv, type Env } from '../e2e/helpers.ts';
import { liveStream } from '../e2e/protocol-helpers.ts';
import { scratchDir } from '../scratch.ts';

let env: Env;
let app: App;
let browser: Browser;
const s = () => ({ browser, env, app });

beforeAll(async () => {
  env = await setupEnv();
  const dir = scratchDir('chat-browser');
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

/** A signed-in page on the stream's watch page, its chat connected as the account. */
async function chatter(who: { uri: string; name: string }, streamId: bigint): Promise<Ctx> {
  const c = await open(s(), [who]);
  await connectWallet(app, c, who.name);
  await c.page.getByRole('button', { name: 'Sign in with this account' }).click();
  await c.page.getByTestId('signed-in').waitFor();
  await go(app, c.page, `/watch/${streamId}`);
  await c.page.getByTestId('chat-input').waitFor({ timeout: 30_000 });
  return c;
}

const say = async (c: Ctx, text: string) => {
  await c.page.locator('[data-testid="chat"][data-status="open"]').waitFor({ timeout: 30_000 });
  await c.page.getByTestId('chat-input').fill(text);
  await c.page.getByTestId('chat-send').click();
};
const texts = (c: Ctx) => c.page.getByTestId('chat-lines').textContent();

describe('live chat', { retry: 1 }, () => {
  it('two viewers chat, a tip shows to both, only payers post when asked, and a ban holds across a reload', async () => {
    const cora = await freshViewer(env, 'Cora');
    const streamId = await liveStream(env, cora.pair);
    const pia = await freshViewer(env, 'Pia');
    const nia = await freshViewer(env, 'Nia');
    const publisher = await publisherPage(browser, app, streamId, await streamKey(app, cora.pair, streamId));

    // Pia watches (and so pays); Nia only reads the page.
    const p = await chatter(pia, streamId);
    await p.page.getByTestId('tab-deposit').fill('0.0006');
    await p.page.getByRole('button', { name: 'Open a tab and watch' }).click();
    await poll(() => p.page.getByTestId('video-state').textContent(), { timeout: 60_000 }).toBe('Video: playing');
    const n = await chatter(nia, streamId);

    // A message's badges are the author's when it is posted: Pia's video plays, so hers says paying.
    await say(p, 'hello from Pia');
    await poll(() => texts(n)).toContain('hello from Pia');
    const piaLine = n.page.locator(`[data-testid="chat-message"][data-author="${pia.address}"]`).first();
    expect(await piaLine.locator('[data-badge="paying"]').count()).toBe(1);
    await say(n, 'hi Pia, Nia here');
    await poll(() => texts(p)).toContain('hi Pia, Nia here');

    // Pia tips from the page: once the block is final, both chats show it, highlighted.
    await p.page.getByTestId('tip-amount').fill('0.001');
    await p.page.getByTestId('tip-message').fill('for the stream');
    await p.page.getByTestId('send-tip').click();
    await poll(() => p.page.getByTestId('tipped').textContent()).toContain('Sent 0.001');
    for (const c of [p, n]) await poll(() => c.page.getByTestId('chat-tip').textContent(), { timeout: 60_000 }).toContain('for the stream');

    // The creator asks that only payers post: Nia is refused and nothing reaches Pia.
    const cr = await chatter(cora, streamId);
    await cr.page.locator('details.moderation summary').click();
    await cr.page.getByTestId('require-payment').check();
    await poll(() => n.page.getByTestId('chat-rules').textContent()).toContain('Only paying viewers');
    await say(n, 'can I still talk?');
    await poll(() => n.page.getByTestId('chat-notice').getAttribute('data-error')).toBe('PaymentRequired');
    await say(p, 'paying, so I can');
    await poll(() => texts(cr)).toContain('paying, so I can');
    expect(await texts(p)).not.toContain('can I still talk?');
    await screenshot(p.page, 'chat-watch');

    // The creator lets everyone post again, then bans Nia from a message of hers.
    await cr.page.getByTestId('require-payment').uncheck();
    await poll(() => n.page.getByTestId('chat-rules').count()).toBe(0);
    await say(n, 'spam spam spam');
    const spam = cr.page.locator(`[data-testid="chat-message"][data-author="${nia.address}"]`, { hasText: 'spam spam spam' });
    await spam.waitFor({ timeout: 30_000 });
    await spam.getByTestId('ban').click();
    await poll(() => n.page.getByTestId('chat-banned').textContent()).toContain('banned');
    await n.page.reload();
    await poll(() => n.page.getByTestId('chat-banned').textContent(), { timeout: 30_000 }).toContain('banned');
    expect(await n.page.getByTestId('chat-input').count()).toBe(0);

    for (const c of [p, n, cr]) expect(failing(c.errors)).toEqual([]);
    await publisher.context().close();
  });
});
