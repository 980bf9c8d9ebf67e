/**
 * Signed HLS URLs for an HTTP edge that checks them without the chain (docs/media.md, "1,000,000
 * viewers"). The media server, which holds the payment gate, gives a paying watch a URL prefix that
 * is good for `ttlSec`; the edge (nginx `secure_link`: an MD5 of the expiry, the stream and a secret
 * it shares with the media server) serves the stream's playlist and fragments under that prefix
 * until then, and nothing else: a changed token or stream → 403, an expired one → 410. A viewer who
 * stops paying gets no new prefix, so the edge stops serving her within `ttlSec`.
 *
 * The token is in the path, not the query, so that the playlist's relative fragment names inherit
 * it; an edge cache keys on `<stream>/<file>` (nginx `proxy_cache_key`), not on the token, so each
 * fragment is fetched once per edge whatever the audience.
 */
import { createHash } from 'node:crypto';

/** What an edge secret may be: it is written into nginx's configuration as it is. */
export const EDGE_SECRET = /^[A-Za-z0-9_-]{16,128}$/;

/** `/edge/<token>/<expires>/<streamId>/`: the prefix of a stream's HLS files on the edge until `expires` (Unix seconds). */
export function edgePrefix(secret: string, streamId: bigint, expiresSec: number): string {
  return `/edge/${edgeToken(secret, streamId, expiresSec)}/${expiresSec}/${streamId}/`;
}

/** nginx `secure_link_md5 "$expires/$stream <secret>"`, base64url without padding (what nginx decodes). */
export function edgeToken(secret: string, streamId: bigint, expiresSec: number): string {
  return createHash('md5').update(`${expiresSec}/${streamId} ${secret}`).digest('base64url');
}

/**
 * The nginx `http` block of the edge: serves `<hlsDir>/s<streamId>/<file>` under a valid prefix. It
 * reads no chain and asks the media server nothing: the signature is the whole check.
 */
export function edgeNginxConf(o: { port: number; secret: string; hlsDir: string }): string {
  if (!EDGE_SECRET.test(o.secret)) throw new Error('the HLS edge secret must be 16–128 characters of A–Z, a–z, 0–9, _ or -');
  return `http {
  access_log off;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  server {
    listen ${o.port};
    location ~ "^/edge/(?<token>[A-Za-z0-9_-]{22})/(?<expires>[0-9]{1,12})/(?<stream>[0-9]{1,20})/(?<file>index\\.m3u8|[0-9]{1,12}\\.ts)$" {
      secure_link $token,$expires;
      secure_link_md5 "$expires/$stream ${o.secret}";
      # The watch page is on the media server's origin: any origin may read, none with credentials.
      add_header Access-Control-Allow-Origin * always;
      if ($secure_link = "") { return 403; }
      if ($secure_link = "0") { return 410; }
      add_header Cache-Control "max-age=1" always;
      alias ${o.hlsDir}/s$stream/$file;
    }
    location / { return 404; }
  }
}
`;
}
