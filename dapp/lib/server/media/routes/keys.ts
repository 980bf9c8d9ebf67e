/**
 * Stream keys: `POST /api/streams/:stream/key` with the creator's signed request → 201 `{streamKey}`
 * (a new key; the old one stops working, and a session it let in ends); `GET` → `{issued, issuedAtMs}` (never the key: only its hash is kept).
 */
import { randomBytes } from 'node:crypto';
import { Refusal } from '../../refusals.ts';
import type { Route } from '../../router.ts';
import { json } from '../http.ts';
import { jsonBody, streamIdOf, type MediaContext } from '../context.ts';
import { sha256, type Publishers } from '../publishers.ts';
import { endKeySessions } from './publish.ts';

export function keyRoutes(ctx: MediaContext, publishers: Publishers): Route[] {
  const { store } = ctx.deps;
  return [
    {
      method: 'POST',
      path: '/api/streams/:stream/key',
      handler: async ({ req, params }) => {
        const streamId = streamIdOf(params.stream);
        const { address, timestamp, signature } = ((await jsonBody(req)) ?? {}) as { address?: unknown; timestamp?: unknown; signature?: unknown };
        if (typeof address !== 'string' || typeof signature !== 'string' || typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp)) {
          throw new Refusal('BadRequest', 'send {address, timestamp (ms), signature}');
        }
        await publishers.checkCreatorRequest(streamId, address, timestamp, signature, `vilokanam:stream-key:${streamId}:${timestamp}`);
        const prev = store.keyHash(streamId);
        if (prev && timestamp <= prev.requestTsMs) throw new Refusal('ReplayedRequest', 'this signed request was already used: sign a new one');
        const streamKey = `vk_${randomBytes(24).toString('base64url')}`;
        store.setKeyHash(streamId, sha256(streamKey), timestamp);
        ctx.log(`[keys] stream ${streamId}: new stream key issued`);
        await endKeySessions(ctx, streamId);
        return json(201, { streamKey });
      },
    },
    {
      method: 'GET',
      path: '/api/streams/:stream/key',
      handler: ({ params }) => {
        const k = store.keyHash(streamIdOf(params.stream));
        return json(200, { issued: !!k, issuedAtMs: k?.requestTsMs ?? null });
      },
    },
  ];
}
