/**
 * The app server's one route table: every path the Node server answers outside SvelteKit's pages —
 * the media server's (WHIP, WHEP, vouchers, keys, status, thumbnails, metrics), the history's and the
 * chat's — as `{method, path, handler}`, matched in one place (dapp/hooks.server.ts; the benchmarks
 * serve the media routes alone). A path is segments, `:name` matching any one segment and a last `*`
 * one or more (a service's own "no such endpoint"); the first route that matches answers. A handler
 * throws a Refusal (refusals.ts) to refuse; the router answers it with the refusal's status, any
 * other failure with 500 InternalError (logged), and a known path asked with another method with
 * 405 and `Allow`. A path no route knows is not the router's: `handle` returns null.
 */
import { Refusal, refusalResponse } from './refusals.ts';

export type Method = 'GET' | 'HEAD' | 'POST' | 'DELETE' | 'OPTIONS';

export interface Ask {
  req: Request;
  url: URL;
  /** The path's `:name` segments. */
  params: Record<string, string>;
  /** The client's address (rate limits). */
  ip: string;
}

export interface Route {
  method: Method;
  /** `/whip/:stream/:resource` */
  path: string;
  handler: (ask: Ask) => Promise<Response> | Response;
}

const segments = (path: string) => path.split('/').filter(Boolean);

export class Router {
  private readonly table: { route: Route; parts: string[] }[];

  constructor(
    routes: Route[],
    private readonly o: { log?: (line: string) => void } = {},
  ) {
    this.table = routes.map((route) => ({ route, parts: segments(route.path) }));
    const seen = new Set<string>();
    for (const { route, parts } of this.table) {
      const key = `${route.method} /${parts.map((p) => (p.startsWith(':') ? ':' : p)).join('/')}`;
      if (seen.has(key)) throw new Error(`two routes for ${key}`);
      seen.add(key);
    }
  }

  /** Every route, for a listing (docs, tests). */
  get routes(): Route[] {
    return this.table.map((t) => t.route);
  }

  /** Answers `req`, or null when no route knows its path. */
  async handle(req: Request, ip = 'unknown'): Promise<Response | null> {
    const url = new URL(req.url);
    const parts = segments(url.pathname);
    const allowed: Method[] = [];
    for (const { route, parts: pattern } of this.table) {
      const params = match(pattern, parts);
      if (!params) continue;
      if (route.method !== req.method && !(route.method === 'GET' && req.method === 'HEAD')) {
        if (!allowed.includes(route.method)) allowed.push(route.method);
        continue;
      }
      try {
        return await route.handler({ req, url, params, ip });
      } catch (e) {
        if (e instanceof Refusal) return refusalResponse(e);
        this.o.log?.(`[server] ${req.method} ${url.pathname} failed: ${(e as Error).stack ?? e}`);
        return refusalResponse(new Refusal('InternalError', 'the server failed on this request'));
      }
    }
    if (!allowed.length) return null;
    return refusalResponse(new Refusal('MethodNotAllowed', `${req.method} ${url.pathname} is not served (${allowed.join(', ')} is)`, { Allow: allowed.join(', ') }));
  }
}

function match(pattern: string[], parts: string[]): Record<string, string> | null {
  const rest = pattern.at(-1) === '*';
  if (rest ? parts.length < pattern.length : pattern.length !== parts.length) return null;
  if (rest) pattern = pattern.slice(0, -1);
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i].startsWith(':')) {
      try {
        params[pattern[i].slice(1)] = decodeURIComponent(parts[i]);
      } catch {
        return null;
      }
    } else if (pattern[i] !== parts[i]) return null;
  }
  return params;
}
