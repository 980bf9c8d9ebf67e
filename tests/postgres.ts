/**
 * A real PostgreSQL server of a test file's own, from Debian's `postgresql` package (tools/setup.sh
 * installs it): a new cluster in a scratch directory, listening only on a Unix socket there, stopped
 * and removed when the file ends. PostgreSQL refuses to run as root, so as root it runs as the
 * package's `postgres` user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from './scratch.ts';

export interface Postgres {
  url: string;
  stop(): void;
}

/** The newest installed server's bin directory (e.g. /usr/lib/postgresql/15/bin). */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl'))) : [];
  if (!versions.length) throw new Error("PostgreSQL's server is not installed: run `npm run setup` (it installs Debian's postgresql)");
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

export function startPostgres(name: string): Postgres {
  const bin = binDir();
  const dir = scratchDir(`pg-${name}`);
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  if (asRoot) {
    const pw = execFileSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).split(':');
    chownSync(dir, Number(pw[2]), Number(pw[3]));
    chmodSync(dir, 0o700);
  }
  run('initdb', ['-D', data, '-U', 'vilo', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  run('pg_ctl', ['-D', data, '-w', '-l', join(dir, 'log'), '-o', `-k ${dir} -c listen_addresses= -c fsync=off`, 'start']);
  let stopped = false;
  return {
    url: `postgres://vilo@/postgres?host=${encodeURIComponent(dir)}`,
    stop() {
      if (stopped) return;
      stopped = true;
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
  };
}
