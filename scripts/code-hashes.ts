/**
 * The contracts' code hashes (blake2-256 of the optimized Wasm: what pallet-contracts stores the code
 * under) are recorded in contracts/code-hashes.json and docs/toolchain.md. The same commit must give
 * the same Wasm on every machine: the lockfile pins every crate, Debian's rust-web-src pins std's,
 * and the contract builder is built --locked (docs/toolchain.md, "Reproducible Wasm").
 *
 * Usage: tsx scripts/code-hashes.ts [--check | --write]
 *   --check  (default) fail, naming the contract, if a built Wasm's hash differs from the record
 *   --write  record the hashes of the Wasm just built (after a deliberate contract change)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blake2AsHex } from '@polkadot/util-crypto';
import { ROOT, artifacts } from './lib/toolchain.ts';
import { contractNames } from './build-contracts.ts';

const RECORD = join(ROOT, 'contracts/code-hashes.json');
const DOC = join(ROOT, 'docs/toolchain.md');

export function builtCodeHashes(): Record<string, string> {
  return Object.fromEntries(
    contractNames().map((name) => {
      const wasm = artifacts(name).wasm;
      if (!existsSync(wasm)) throw new Error(`${name} is not built (${wasm}); run \`npm run build:contracts\``);
      return [name, blake2AsHex(readFileSync(wasm), 256)];
    }),
  );
}

/** Differences between the built hashes and the record (and the doc), as sentences; empty when all match. */
export function codeHashMismatches(built: Record<string, string>, recorded: Record<string, string>, doc: string): string[] {
  const problems: string[] = [];
  for (const [name, hash] of Object.entries(built)) {
    if (recorded[name] !== hash) problems.push(`${name}: built ${hash}, recorded ${recorded[name] ?? '(none)'}`);
    else if (!doc.includes(hash)) problems.push(`${name}: ${hash} is recorded but missing from docs/toolchain.md`);
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const built = builtCodeHashes();
  if (process.argv.includes('--write')) {
    writeFileSync(RECORD, JSON.stringify(built, null, 2) + '\n');
    console.log(`[code-hashes] recorded in contracts/code-hashes.json (copy them into docs/toolchain.md):`);
    for (const [name, hash] of Object.entries(built)) console.log(`| ${name} | \`${hash}\` |`);
  } else {
    const recorded = existsSync(RECORD) ? (JSON.parse(readFileSync(RECORD, 'utf8')) as Record<string, string>) : {};
    const problems = codeHashMismatches(built, recorded, readFileSync(DOC, 'utf8'));
    if (problems.length) {
      console.error('[code-hashes] the Wasm built from this commit is not the recorded one:');
      for (const p of problems) console.error(`  ${p}`);
      console.error('  A contract change: rerun `tsx scripts/code-hashes.ts --write` and update docs/toolchain.md.');
      console.error('  No contract change: the build is not reproducible here (toolchain or crate versions differ); see docs/toolchain.md.');
      process.exit(1);
    }
    console.log(`[code-hashes] ${Object.keys(built).length} contracts match their recorded code hashes`);
  }
}
