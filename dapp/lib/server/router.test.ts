import { describe, expect, it } from 'vitest';
import { REFUSALS, Refusal } from './refusals.ts';
import { Router } from './router.ts';

const ask = (r: Router, method: string, path: string) => r.handle(new Request(`http://h${path}`, { method }), '10.0.0.1');

describe('the route table', () => {
  const logged: string[] = [];
  const router = new Router(
    [
      { method: 'POST', path: '/whip/:stream', handler: ({ params, ip }) => Response.json({ stream: params.stream, ip }, { status: 201 }) },
      { method: 'DELETE', path: '/whip/:stream/:resource', handler: ({ params }) => Response.json(params) },
      { method: 'GET', path: '/api/streams/:stream/key', handler: () => { throw new Refusal('StreamNotFound', 'there is no stream 9'); } },
      { method: 'GET', path: '/api/boom', handler: () => { throw new Error('the disk is full'); } },
      { method: 'GET', path: '/api/history/status', handler: () => Response.json({ state: 'ready' }) },
      { method: 'GET', path: '/api/history/*', handler: () => { throw new Refusal('NotFound', 'no such history endpoint'); } },
    ],
    { log: (l) => logged.push(l) },
  );

  it("hands a route its path's segments and the client's address", async () => {
    const res = (await ask(router, 'POST', '/whip/42'))!;
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ stream: '42', ip: '10.0.0.1' });
    expect(await (await ask(router, 'DELETE', '/whip/42/abc%20d'))!.json()).toEqual({ stream: '42', resource: 'abc d' });
  });

  it('answers a refusal with the status refusals.ts gives its name, and says what it is', async () => {
    const res = (await ask(router, 'GET', '/api/streams/9/key'))!;
    expect(res.status).toBe(REFUSALS.StreamNotFound);
    expect(await res.json()).toEqual({ error: 'StreamNotFound', message: 'there is no stream 9' });
  });

  it('answers a known path asked with another method 405, naming the methods it has', async () => {
    const res = (await ask(router, 'GET', '/whip/42'))!;
    expect([res.status, res.headers.get('allow'), ((await res.json()) as { error: string }).error]).toEqual([405, 'POST', 'MethodNotAllowed']);
    expect((await ask(router, 'POST', '/api/history/status'))!.headers.get('allow')).toBe('GET');
  });

  it("leaves a path no route has to the app's pages (null), and a service's own rest to that service", async () => {
    expect(await ask(router, 'GET', '/watch/1')).toBeNull();
    expect(await ask(router, 'POST', '/whip/42/abc/def')).toBeNull();
    expect((await ask(router, 'GET', '/api/history/nothing/here'))!.status).toBe(404);
    expect((await ask(router, 'GET', '/api/history/status'))!.status).toBe(200);
  });

  it('answers a failure that is not a refusal 500 without its details, and logs them', async () => {
    const res = (await ask(router, 'GET', '/api/boom'))!;
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).not.toContain('disk');
    expect(logged.some((l) => l.includes('GET /api/boom failed') && l.includes('the disk is full'))).toBe(true);
  });

  it('refuses two routes for the same method and path shape', () => {
    const h = () => new Response();
    expect(() => new Router([{ method: 'GET', path: '/a/:x', handler: h }, { method: 'GET', path: '/a/:y', handler: h }])).toThrow(/two routes for GET \/a\/:/);
  });

  it("keeps a contract's own refusal name, as a conflict", () => {
    const r = Refusal.contract('NoPricePlan', 'stream 3 has no price plan');
    expect([r.name, r.status]).toEqual(['NoPricePlan', 409]);
  });
});
