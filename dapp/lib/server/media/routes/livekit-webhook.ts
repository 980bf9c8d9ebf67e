/**
 * `POST /api/livekit/webhook` — LiveKit's webhooks (its `webhook.urls` names this; docs/media.md,
 * "LiveKit"). Signed by LiveKit with the API key (a JWT over the body's SHA-256): anything else is
 * refused 401. On `participant_joined` the participant is checked at once: the stream's publisher
 * and the control plane's own subscribers stay; a viewer stays only while the gate follows her watch
 * or finds paid (`LiveKitGate.mayStay`; a viewer another control plane minted is left to it);
 * anyone else is removed. This closes LiveKit's own
 * token refresh: every connected participant is handed a 10-minute token, which would otherwise
 * let a viewer whose watch ended come back unpaid. Not rate-limited per address: it is LiveKit's.
 */
import { WebhookReceiver } from 'livekit-server-sdk';
import { Refusal } from '../../refusals.ts';
import type { Route } from '../../router.ts';
import { readBody } from '../http.ts';
import type { MediaContext } from '../context.ts';
import { streamOfRoom } from '../livekit/plane.ts';

const MAX_WEBHOOK_BYTES = 64 * 1024;

export function liveKitWebhookRoutes(ctx: MediaContext): Route[] {
  const lk = ctx.lk;
  if (!lk) return [];
  const receiver = new WebhookReceiver(lk.plane.config.apiKey, lk.plane.config.apiSecret);
  return [
    {
      method: 'POST',
      path: '/api/livekit/webhook',
      handler: async ({ req }) => {
        const body = await readBody(req, MAX_WEBHOOK_BYTES);
        const event = await receiver.receive(body, req.headers.get('authorization') ?? undefined).catch((e: Error) => {
          throw new Refusal('Unauthorized', `not a webhook signed by this server's LiveKit: ${e.message}`);
        });
        const room = event.room?.name ?? '';
        const identity = event.participant?.identity ?? '';
        const streamId = streamOfRoom(room);
        if (event.event === 'participant_joined' && streamId !== undefined && !lk.gate.mayStay(room, identity, event.participant?.attributes)) {
          const removed = await lk.plane.remove(streamId, identity).catch((e: Error) => {
            ctx.log(`[livekit] ${identity} joined ${room} without a paid watch; removing it failed (the sweep tries again): ${e.message}`);
            return false;
          });
          if (removed) {
            ctx.metrics.deny('UnpaidJoin');
            ctx.log(`[livekit] ${identity} joined ${room} without a paid watch: removed`);
          }
        }
        return new Response(null, { status: 200 });
      },
    },
  ];
}
