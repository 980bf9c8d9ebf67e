/**
 * Generates chain/contracts-parachain.raw.json: a raw chain spec for the Wasm runtime of
 * substrate-contracts-node 0.42 (crate contracts-parachain-runtime 0.42.0), with the genesis of the
 * node's own `local_testnet_config` (chain_spec.rs in crate contracts-node 0.42.0).
 *
 * The genesis storage is computed by the runtime itself: `GenesisBuilder_get_preset(None)` gives the
 * default config, the node's patch is merged in, and `GenesisBuilder_build_state` writes the storage,
 * executed by chopsticks' Wasm executor (smoldot). `:code` is the compressed runtime.
 *
 * Usage: tsx scripts/chain/gen-chainspec.ts <runtime.compact.compressed.wasm> [out.json]
 * Normally run through tools/gen-chainspec.sh, which builds the runtime first.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { runTask, emptyTaskHandler, getRuntimeVersion, destroyWorker } from '@acala-network/chopsticks-core';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { compactAddLength, hexToU8a, stringToU8a, u8aToHex, u8aToString } from '@polkadot/util';

type Hex = `0x${string}`;

const [wasmPath, outPath = 'chain/contracts-parachain.raw.json'] = process.argv.slice(2);
if (!wasmPath) {
  console.error('usage: tsx scripts/chain/gen-chainspec.ts <runtime.compact.compressed.wasm> [out.json]');
  process.exit(2);
}

/** Mirrors contracts-node 0.42 chain_spec.rs: EXISTENTIAL_DEPOSIT = MILLIUNIT = 10^9 plancks. */
const EXISTENTIAL_DEPOSIT = 1_000_000_000n;
const ENDOWMENT = 1n << 60n;
const PARA_ID = 1000;
const SAFE_XCM_VERSION = 4;

await cryptoWaitReady();
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const addr = (uri: string) => keyring.addFromUri(uri).address;
const names = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];
const endowed = [...names.map((n) => `//${n}`), ...names.map((n) => `//${n}//stash`)].map(addr);
const collators = ['//Alice', '//Bob'].map(addr);

const big = (n: bigint) => (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(n.toString());
const patch = {
  balances: { balances: endowed.map((a) => [a, big(ENDOWMENT)]) },
  parachainInfo: { parachainId: PARA_ID },
  collatorSelection: { invulnerables: collators, candidacyBond: big(EXISTENTIAL_DEPOSIT * 16n) },
  session: { keys: collators.map((a) => [a, a, { aura: a }]) },
  polkadotXcm: { safeXcmVersion: SAFE_XCM_VERSION },
  sudo: { key: addr('//Alice') },
};

const code = u8aToHex(readFileSync(wasmPath)) as Hex;
const version = await getRuntimeVersion(code);
console.log(`runtime ${version.specName} v${version.specVersion}, ${readFileSync(wasmPath).length} bytes`);

/** Genesis starts from empty storage: every read misses. */
const emptyStorage = {
  ...emptyTaskHandler,
  getStorage: async () => undefined,
  getNextKey: async () => undefined,
};

async function call(method: string, arg: Hex): Promise<{ result: Hex; storageDiff: [Hex, Hex | null][] }> {
  const res = await runTask(
    { wasm: code, calls: [[method, [arg]]], mockSignatureHost: false, allowUnresolvedImports: false, runtimeLogLevel: 0 },
    emptyStorage,
  );
  if ('Error' in res) throw new Error(`${method} failed: ${res.Error}`);
  return res.Call as { result: Hex; storageDiff: [Hex, Hex | null][] };
}

// get_preset(None) -> Option<Vec<u8>>: 0x01 ++ compact(len) ++ json
const preset = hexToU8a((await call('GenesisBuilder_get_preset', '0x00')).result);
if (preset[0] !== 1) throw new Error('runtime returned no default genesis config');
const lenBytes = preset[1] & 3; // SCALE compact mode
const offset = 1 + (lenBytes === 0 ? 1 : lenBytes === 1 ? 2 : lenBytes === 2 ? 4 : 5);
const defaults = JSON.parse(u8aToString(preset.subarray(offset)));

const merge = (base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    out[k] =
      b && typeof b === 'object' && !Array.isArray(b) && v && typeof v === 'object' && !Array.isArray(v)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
};
const config = JSON.stringify(merge(defaults, patch));

// build_state(Vec<u8>) -> Result<(), String>
const built = await call('GenesisBuilder_build_state', u8aToHex(compactAddLength(stringToU8a(config))) as Hex);
if (built.result !== '0x00') throw new Error(`build_state refused the genesis config: ${built.result}`);

const top: Record<string, Hex> = { '0x3a636f6465': code }; // ":code"
for (const [k, v] of built.storageDiff) if (v !== null) top[k] = v;
// chopsticks' GenesisProvider walks keys in object order: keep them sorted.
const sorted = Object.fromEntries(Object.entries(top).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

const spec = {
  name: 'Vilokanam Local (contracts-parachain-runtime 0.42)',
  id: 'vilokanam_local',
  chainType: 'Local',
  bootNodes: [],
  telemetryEndpoints: null,
  protocolId: 'contracts-local',
  properties: { tokenSymbol: 'UNIT', tokenDecimals: 12, ss58Format: 42 },
  relay_chain: 'rococo-local',
  para_id: PARA_ID,
  codeSubstitutes: {},
  genesis: { raw: { top: sorted, childrenDefault: {} } },
};
const json = JSON.stringify(spec, null, 1) + '\n';
writeFileSync(outPath, json);
const sha = createHash('sha256').update(json).digest('hex');
console.log(`wrote ${outPath}: ${Object.keys(sorted).length} storage entries, sha256 ${sha}`);
await destroyWorker();
