/**
 * tools/env.sh is sourced at the top of tools/setup.sh, before setup's "system packages" step has
 * installed anything. These tests run its PATH and linker logic as a first run on a fresh machine
 * would: an empty cache, and the Wasm linker installed only after the file was sourced.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, wasmBuildEnv } from './lib/toolchain.ts';
import { scratchDir } from '../tests/scratch.ts';

/** Runs a bash script after `source tools/env.sh`, with an empty XDG cache and a minimal PATH. */
function afterSourcingEnv(script: string, env: Record<string, string> = {}) {
  const r = spawnSync('bash', ['-c', `set -e; source tools/env.sh; ${script}`], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', HOME: scratchDir('home'), XDG_CACHE_HOME: scratchDir('cache'), ...env },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** A stand-in for lld-22, written only when the script calls `install_linker` (after sourcing). */
function lateLinker() {
  const lld = join(scratchDir('apt'), 'lld-22');
  const install = `install_linker() { printf '#!/bin/sh\\necho "lld-22 ran: $*"\\n' > ${lld}; chmod +x ${lld}; }`;
  return { lld, install };
}

describe('setup on a fresh machine (tools/env.sh)', () => {
  it('finds a Wasm linker installed after env.sh was sourced, with an empty cache', () => {
    const { lld, install } = lateLinker();
    const r = afterSourcingEnv(`${install}; install_linker; rust-lld -flavor wasm --version`, { VILO_LLD: lld });
    expect(r.out).toContain('lld-22 ran: -flavor wasm --version');
    expect(r.status).toBe(0);
  });

  it('names the setup step that installs the linker when it is missing', () => {
    const r = afterSourcingEnv('rust-lld -flavor wasm --version', { VILO_LLD: '/nonexistent/lld-22' });
    expect(r.status).toBe(127);
    expect(r.out).toMatch(/'system packages' step of tools\/setup\.sh installs it \(Debian package lld-22\)/);
  });

  it("a step's require check fails with what provides the tool", () => {
    const r = afterSourcingEnv(`require /nonexistent/cargo "the 'system packages' step installs Debian's cargo-web"`);
    expect(r.status).toBe(1);
    expect(r.out).toContain("missing /nonexistent/cargo: the 'system packages' step installs Debian's cargo-web");
  });

  it('gives contract builds (scripts/build-contracts.ts) the same late-bound linker', () => {
    const { lld, install } = lateLinker();
    const env = wasmBuildEnv({ PATH: '/usr/bin:/bin', VILO_LLD: lld, XDG_CACHE_HOME: scratchDir('cache') });
    spawnSync('bash', ['-c', `${install}; install_linker`]);
    const r = spawnSync('rust-lld', ['-flavor', 'wasm'], { env, encoding: 'utf8' });
    expect(r.stdout).toContain('lld-22 ran: -flavor wasm');
  });
});
