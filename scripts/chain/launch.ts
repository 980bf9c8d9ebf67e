/**
 * Starts a local contracts chain for the project's commands and tests, and stops it when done.
 *
 * Which chain, in order:
 *  1. `CONTRACTS_NODE_URL` set: use that running node; nothing is started or stopped.
 *  2. Asked for (`VILO_CHAIN=contracts-node`, or a binary named by `SUBSTRATE_CONTRACTS_NODE`): a
 *     substrate-contracts-node binary (that one, or on PATH, or built by tools/build-node.sh into the
 *     cache), run in dev mode (instant seal) on a free port; its absence is an error.
 *  3. Otherwise chopsticks running the node's own runtime (contracts-parachain-runtime 0.42) from
 *     chain/contracts-parachain.raw.json, a block per transaction — what a fresh machine has, so
 *     `npm test` runs the same chain everywhere, built node or not. See docs/decisions.md.
 *
 * As a command: `tsx scripts/chain/launch.ts` starts the chain, prints its URL and runs until Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';

export type ChainKind = 'external' | 'contracts-node' | 'chopsticks';

export interface Chain {
  /** WebSocket URL of the chain's RPC. */
  url: string;
  kind: ChainKind;
  /** Stops the chain if this process started it; resolves once the process is gone. */
  stop(): Promise<void>;
}

export class ChainStartError extends Error {
  override name = 'ChainStartError';
}

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
export const CHAIN_SPEC = join(ROOT, 'chain/contracts-parachain.raw.json');
const READY_TIMEOUT_MS = 120_000;

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of a substrate-contracts-node binary, if one is available. */
export function findContractsNode(env = process.env): string | undefined {
  const named = env.SUBSTRATE_CONTRACTS_NODE;
  if (named) {
    if (!isExecutable(named)) {
      throw new ChainStartError(`SUBSTRATE_CONTRACTS_NODE=${named} is not an executable file`);
    }
    return named;
  }
  const cache = env.VILO_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vilokanam');
  const dirs = [...(env.PATH ?? '').split(delimiter), join(cache, 'bin')];
  return dirs.map((d) => join(d, 'substrate-contracts-node')).find(isExecutable);
}

/** Resolves once `url` answers `chain_getHeader`, or rejects after `timeoutMs`. */
export async function waitForRpc(url: string, timeoutMs: number, alive: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    const dead = alive();
    if (dead) throw new ChainStartError(dead);
    try {
      await rpcOnce(url, 'chain_getHeader');
      return;
    } catch (e) {
      lastError = (e as Error).message;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new ChainStartError(`chain at ${url} did not answer within ${timeoutMs / 1000}s (${lastError})`);
}

function rpcOnce(url: string, method: string): Promise<unknown> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.close();
      fail(new Error('timeout'));
    }, 2_000);
    ws.onerror = () => {
      clearTimeout(timer);
      fail(new Error('connection refused'));
    };
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, jsonrpc: '2.0', method, params: [] }));
    ws.onmessage = (msg) => {
      clearTimeout(timer);
      ws.close();
      const body = JSON.parse(String(msg.data));
      if (body.error) fail(new Error(body.error.message));
      else ok(body.result);
    };
  });
}

function chopsticksCommand(port: number): [string, string[]] {
  if (!existsSync(CHAIN_SPEC)) {
    throw new ChainStartError(`missing ${CHAIN_SPEC}; regenerate it with tools/gen-chainspec.sh`);
  }
  return [join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/chain/chopsticks-server.ts'), CHAIN_SPEC, String(port)]];
}

async function contractsNodeCommand(bin: string, port: number): Promise<[string, string[]]> {
  // --dev: instant seal, dev accounts funded; --tmp: a throwaway database.
  return [bin, ['--dev', '--tmp', `--rpc-port=${port}`, `--port=${await freePort()}`, '--no-prometheus']];
}

/**
 * Which chain to start. The node only when asked for: a node built into the cache must not change
 * what `npm test` runs (a fresh machine has none, and CI must test what a newcomer gets).
 */
export function chooseChain(env = process.env): { kind: 'contracts-node' | 'chopsticks'; nodeBin?: string } {
  const wanted = env.VILO_CHAIN;
  if (wanted && wanted !== 'chopsticks' && wanted !== 'contracts-node') {
    throw new ChainStartError(`VILO_CHAIN=${wanted}: expected "chopsticks" or "contracts-node"`);
  }
  const nodeWanted = wanted === 'contracts-node' || (!wanted && Boolean(env.SUBSTRATE_CONTRACTS_NODE));
  if (!nodeWanted) return { kind: 'chopsticks' };
  const nodeBin = findContractsNode(env);
  if (!nodeBin) {
    throw new ChainStartError('VILO_CHAIN=contracts-node, but no substrate-contracts-node binary was found (build it with tools/build-node.sh)');
  }
  return { kind: 'contracts-node', nodeBin };
}

/** Starts (or connects to) the local chain. */
export async function startChain(env = process.env): Promise<Chain> {
  if (env.CONTRACTS_NODE_URL) {
    const url = env.CONTRACTS_NODE_URL;
    await waitForRpc(url, 10_000, () => undefined);
    return { url, kind: 'external', stop: async () => {} };
  }
  const port = await freePort();
  const { kind, nodeBin } = chooseChain(env);
  const [cmd, args] = nodeBin ? await contractsNodeCommand(nodeBin, port) : chopsticksCommand(port);
  const url = `ws://127.0.0.1:${port}`;

  const child = spawn(cmd, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | undefined;
  const printed = () => output.join('').slice(-3000);
  child.on('exit', (code, signal) => {
    exited = `${kind} exited (${signal ?? code}) before answering:\n${printed()}`;
  });
  child.on('error', (e) => {
    exited = `${kind} could not start: ${e.message}`;
  });

  const stop = () => killTree(child);
  const onExit = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  process.once('exit', onExit);

  try {
    await waitForRpc(url, READY_TIMEOUT_MS, () => exited);
  } catch (e) {
    await stop();
    // What the chain printed is the only clue to why it never answered.
    if (e instanceof ChainStartError && !exited) {
      throw new ChainStartError(`${e.message}; ${kind} (${cmd} ${args.join(' ')}) printed:\n${printed() || '(nothing)'}`);
    }
    throw e;
  }
  return {
    url,
    kind,
    stop: async () => {
      process.removeListener('exit', onExit);
      await stop();
    },
  };
}

/** Sends SIGTERM to the child's process group, SIGKILL after 5 s; resolves when it has exited. */
function killTree(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      clearTimeout(timer);
      done();
    }
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const chain = await startChain();
  console.log(`[chain] ${chain.kind} ready at ${chain.url} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  const shutdown = async () => {
    await chain.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
