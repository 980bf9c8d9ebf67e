/**
 * RTMP ingest for encoders without WHIP, with HLS out, through nginx and Debian's libnginx-mod-rtmp,
 * run as a child of this server with a generated configuration:
 * - an encoder publishes to rtmp://host:<port>/live with the stream key as the stream name;
 * - nginx asks `authorize` (over a loopback-only HTTP callback) before accepting; an unknown key is
 *   refused and nothing is written. It asks again every few seconds while the encoder publishes
 *   (`on_update`): once the creator has replaced the key, the answer is no and nginx drops it.
 *   An accepted stream is renamed to `s<streamId>` and pushed to an internal application that
 *   writes HLS, so the key never appears in a playlist or file name;
 * - nginx writes HLS (1 s fragments) under `hlsDir/s<streamId>/`; the media server serves those files
 *   only to paying viewers (GET /hls/:streamId/:file, the same gate as WHEP);
 * - with an edge port, the same nginx also serves those files over HTTP to signed URLs only
 *   (hls-edge.ts: the check an HTTP cache in front of a million viewers can make without the chain);
 * - on the LiveKit plane the stream is also read back over loopback (`playUrl`) and published into
 *   its LiveKit room (livekit/rtmp-bridge.ts), so RTMP viewers watch over WebRTC too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeNginxConf } from './hls-edge.ts';

export const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

export interface RtmpIngest {
  port: number;
  hlsDir: string;
  /** Directory of a stream's HLS files (exists once it publishes). */
  streamDir(streamId: bigint): string;
  /** Where nginx plays an accepted stream back, to this machine only. */
  playUrl(streamId: bigint): string;
  stop(): Promise<void>;
}

export class RtmpUnavailable extends Error {
  override name = 'RtmpUnavailable';
}

/** Whether nginx and its RTMP module are installed (tools/setup.sh installs them). */
export function rtmpAvailable(nginx = 'nginx'): boolean {
  return existsSync(RTMP_MODULE) && (nginx.includes('/') ? existsSync(nginx) : ['/usr/sbin/nginx', '/usr/bin/nginx'].some(existsSync));
}

export async function startRtmp(o: {
  port: number;
  /** The stream a key publishes, or undefined to refuse it. */
  authorize: (key: string) => bigint | undefined;
  /** A publish was accepted: nginx serves it on `playUrl(id)` (loopback) from now on. */
  onPublish?: (streamId: bigint) => void;
  /** An accepted publish ended. */
  onPublishDone?: (streamId: bigint) => void;
  /** Also serve the HLS files on `port` to signed URLs only (hls-edge.ts), from the same nginx. */
  edge?: { port: number; secret: string };
  log?: (line: string) => void;
  nginx?: string;
}): Promise<RtmpIngest> {
  if (!rtmpAvailable(o.nginx)) throw new RtmpUnavailable(`RTMP ingest needs nginx and ${RTMP_MODULE} (Debian: nginx-light libnginx-mod-rtmp)`);
  const dir = mkdtempSync(join(tmpdir(), 'vilo-rtmp-'));
  const hlsDir = join(dir, 'hls');
  mkdirSync(hlsDir);
  // nginx started as root runs its worker as nobody, which must be able to write the fragments.
  chmodSync(dir, 0o755);
  chmodSync(hlsDir, 0o777);

  /** Accepted publishers by nginx's client id → the key they published with (asked again on update). */
  const sessions = new Map<string, string>();
  const callback = await listen((body) => {
    const form = new URLSearchParams(body);
    const key = form.get('name') ?? '';
    const client = form.get('clientid') ?? '';
    if (form.get('call') === 'update_publish') {
      // nginx names the stream as renamed (s<id>) here: the key is the one kept at publish.
      const kept = sessions.get(client);
      if (kept === undefined || o.authorize(kept) !== undefined) return { status: 200 };
      sessions.delete(client);
      o.log?.('[rtmp] publishing ended: its stream key was replaced');
      return { status: 403 };
    }
    if (form.get('call') === 'publish_done') {
      sessions.delete(client);
      // nginx names the stream as renamed (s<id>) or as published (the key), depending on when it ends.
      const id = /^s[0-9]{1,20}$/.test(key) ? BigInt(key.slice(1)) : o.authorize(key);
      if (id !== undefined) {
        o.log?.(`[rtmp] stream ${id}: publishing ended`);
        o.onPublishDone?.(id);
      }
      return { status: 200 };
    }
    const id = form.get('call') === 'publish' && form.get('app') === 'live' ? o.authorize(key) : undefined;
    if (id === undefined) {
      o.log?.('[rtmp] publish refused: unknown stream key');
      return { status: 401 };
    }
    o.log?.(`[rtmp] stream ${id}: publishing`);
    if (client) sessions.set(client, key);
    o.onPublish?.(id);
    return { status: 302, location: `s${id}` };
  });

  const conf = join(dir, 'nginx.conf');
  const root = process.getuid?.() === 0;
  writeFileSync(
    conf,
    `load_module ${RTMP_MODULE};
${root ? 'user nobody nogroup;' : ''}
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
rtmp {
  server {
    listen ${o.port};
    chunk_size 4096;
    # Ingest: the key is checked, and the stream renamed to s<id> and pushed on to "hls" (the HLS
    # writer would keep the key as the directory name if it ran here: nginx-rtmp issue #1013).
    application live {
      live on;
      record off;
      deny play all;
      on_publish http://127.0.0.1:${callback.port}/publish;
      on_publish_done http://127.0.0.1:${callback.port}/publish_done;
      # Asked again every 3 s while publishing: a key the creator replaced is dropped (403).
      on_update http://127.0.0.1:${callback.port}/update;
      notify_update_timeout 3s;
      push rtmp://127.0.0.1:${o.port}/hls;
    }
    application hls {
      live on;
      record off;
      allow publish 127.0.0.1;
      deny publish all;
      # Read back over loopback only: the bridge into LiveKit (livekit/rtmp-bridge.ts).
      allow play 127.0.0.1;
      deny play all;
      hls on;
      hls_path ${hlsDir};
      hls_nested on;
      hls_fragment 1s;
      hls_playlist_length 6s;
      hls_cleanup on;
    }
  }
}
${o.edge ? edgeNginxConf({ ...o.edge, hlsDir }) : ''}`,
  );
  const nginx: ChildProcess = spawn(o.nginx ?? 'nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  nginx.stderr?.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((r) => nginx.once('exit', (code) => r(code)));
  // Up once the RTMP port accepts connections.
  const up = await Promise.race([
    Promise.all([waitForPort(o.port, 5_000), o.edge ? waitForPort(o.edge.port, 5_000) : true]).then((ok) => ok.every(Boolean)),
    exited.then(() => false),
  ]);
  if (!up) {
    nginx.kill('SIGKILL');
    callback.server.close();
    const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
    throw new RtmpUnavailable(`nginx did not start on port ${o.port}: ${(stderr + log).trim().slice(-500)}`);
  }
  o.log?.(`[rtmp] ingest on rtmp://0.0.0.0:${o.port}/live (stream key as the stream name); HLS behind the gate at /hls/`);
  if (o.edge) o.log?.(`[rtmp] HLS edge on http://0.0.0.0:${o.edge.port}/edge/ (signed URLs only)`);
  return {
    port: o.port,
    hlsDir,
    streamDir: (id) => join(hlsDir, `s${id}`),
    playUrl: (id) => `rtmp://127.0.0.1:${o.port}/hls/s${id}`,
    stop: async () => {
      nginx.kill('SIGQUIT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
      nginx.kill('SIGKILL');
      callback.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A loopback HTTP server for nginx-rtmp's callbacks. */
function listen(handle: (body: string) => { status: number; location?: string }): Promise<{ server: Server; port: number }> {
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) {
      body += String(c);
      if (body.length > 8_192) break;
    }
    const r = handle(body);
    res.writeHead(r.status, r.location ? { Location: r.location } : {});
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

async function waitForPort(port: number, ms: number): Promise<boolean> {
  const { connect } = await import('node:net');
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
