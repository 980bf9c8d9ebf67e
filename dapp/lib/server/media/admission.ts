/**
 * Admission of a viewer's request for media (a WHEP offer, an HLS file, a LiveKit watch token): the
 * tab and watch in the headers, a voucher naming that watch on this stream, accepted by the tab
 * relay, and the tab gate open (docs/media.md, "Gate rules").
 */
import { parseTabVoucherAuthorization } from '../../media/tab-wire.ts';
import { Refusal } from '../refusals.ts';
import type { MediaContext } from './context.ts';

/**
 * Admits `req` to `streamId`'s media, or throws the refusal. `ready` runs once the request is known
 * to be well-formed (WHEP: the stream is live, the offer read), before any chain read.
 */
export async function admit<T>(ctx: MediaContext, req: Request, streamId: bigint, ready: () => Promise<T>): Promise<{ tabId: bigint; watch: number; value: T }> {
  const arrivedAt = Date.now();
  const tabHeader = req.headers.get('x-vilo-tab') ?? '';
  const watchHeader = req.headers.get('x-vilo-watch') ?? '';
  const authorization = req.headers.get('authorization');
  if (!tabHeader && !authorization) {
    throw new Refusal('NotPaying', 'playback is paid from a tab: send X-Vilo-Tab, X-Vilo-Watch and "Authorization: TabVoucher <latest signed voucher>"');
  }
  if (!/^[0-9]{1,20}$/.test(tabHeader) || !/^[0-9]{1,10}$/.test(watchHeader)) {
    throw new Refusal('BadRequest', 'X-Vilo-Tab and X-Vilo-Watch must be the tab id and the watch number (decimal)');
  }
  const tabId = BigInt(tabHeader);
  const watch = Number(watchHeader);
  let signed;
  try {
    signed = parseTabVoucherAuthorization(authorization);
  } catch (e) {
    throw new Refusal(authorization ? 'MalformedVoucher' : 'NotPaying', (e as Error).message);
  }
  const claim = signed.claims.find((c) => c.watch === watch);
  if (signed.tabId !== tabId || !claim || claim.streamId !== streamId) {
    ctx.metrics.reject('VoucherMismatch');
    throw new Refusal('VoucherMismatch', 'the voucher is for another tab, watch or stream than the request names');
  }
  const value = await ready();
  await ctx.tabRelay.acceptShown(signed, watch);
  const d = ctx.tabGate.decideNow(tabId, watch, arrivedAt);
  if (!d.open) throw new Refusal('NotPaying', d.message);
  return { tabId, watch, value };
}
