/**
 * The tab relay's endpoints: `POST /api/tab-vouchers` (a JSON tab voucher → 202 `{watches}`: what the
 * relay holds of each of the tab's watches) and `GET /api/tabs/relay` (the account a tab must name).
 */
import type { WireError } from '../../../media/wire.ts';
import { fromTabWire, toWireWatches } from '../../../media/tab-wire.ts';
import { Refusal } from '../../refusals.ts';
import type { Route } from '../../router.ts';
import { json } from '../http.ts';
import { jsonBody, type MediaContext } from '../context.ts';

export function voucherRoutes(ctx: MediaContext): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/tab-vouchers',
      handler: async ({ req }) => {
        const body = await jsonBody(req, 'MalformedVoucher');
        let signed;
        try {
          signed = fromTabWire(body);
        } catch (e) {
          throw new Refusal('MalformedVoucher', (e as WireError).message);
        }
        const watches = await ctx.tabRelay.accept(signed);
        // Reopen this tab's media at once instead of at the next gate round.
        for (const c of ctx.sfu.viewers()) if (c.viewer === `tab:${signed.tabId}` && !c.open) ctx.decide(c);
        void ctx.lk?.gate.round();
        return json(202, { watches: toWireWatches(watches) });
      },
    },
    { method: 'GET', path: '/api/tabs/relay', handler: () => json(200, { relay: ctx.deps.settler?.relayAddress ?? null }) },
  ];
}
