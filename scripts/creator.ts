/**
 * Creator commands: create a stream with its pricing, change prices, go live or offline, list streams,
 * show earnings, withdraw.
 *
 * Usage: npm run creator -- <command> [options]
 *   create   --title T --category C [--description D] [--thumbnail CID] --rate R [pricing] [--live]
 *   price    <stream-id> --rate R [pricing]       replace the stream's price plan
 *   live     <stream-id> on|off
 *   list     [--creator ADDRESS]                  streams of a creator (default: the signer)
 *   earnings [<stream-id>…]                       unwithdrawn earnings (default: all the signer's streams)
 *   withdraw <stream-id>                          pay a stream's earnings to the signer
 *   profile  [--name N [--avatar CID] | --clear]  show, set or remove the signer's creator profile
 * Pricing: --premium-rate R, --tier PRICE:DAYS (repeat, at most 3), --dynamic FLOOR:CEILING:STEP.
 *   Rates are plancks per second; prices plancks (1 UNIT = 10^12 plancks).
 * Common: --url ws://… (default $CONTRACTS_NODE_URL), --deployment FILE (default deployments/<chain>.json),
 *   --json (machine-readable output), --help.
 * Signer: $VILO_SURI (a secret URI); on a local chain //Alice by default, or --dev NAME (Bob, Charlie…).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ApiPromise } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import { Keyring } from '@polkadot/keyring';
import type { WeightV2 } from '@polkadot/types/interfaces';
import { connect, ExtrinsicFailedError, isDevChain, signAndWait, signerFrom } from './lib/chain.ts';
import { deploymentFile, type Deployment } from './deploy.ts';
import { ContractError, PaymentHandlerContract, PricingEngineContract, StreamRegistryContract } from '../typechain/index.ts';
import type { PlanInput } from '../typechain/pricing_engine.ts';
import { input, withGasMargin, type InkContract } from '../typechain/runtime.ts';
import { table } from './lib/table.ts';

class UsageError extends Error {
  override name = 'UsageError';
}

const DAY_MS = 86_400_000n;

function bigintArg(name: string, value: string | undefined): bigint {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number of plancks, got "${value}"`);
  return BigInt(value);
}

function planFrom(v: Record<string, unknown>): PlanInput {
  const tiers = ((v.tier as string[] | undefined) ?? []).map((t) => {
    const m = /^(\d+):(\d+)$/.exec(t);
    if (!m) throw new UsageError(`--tier must be PRICE:DAYS, got "${t}"`);
    return { price: BigInt(m[1]), periodMs: BigInt(m[2]) * DAY_MS };
  });
  let dynamic: PlanInput['dynamic'] = null;
  if (v.dynamic) {
    const m = /^(\d+):(\d+):(\d+)$/.exec(v.dynamic as string);
    if (!m) throw new UsageError(`--dynamic must be FLOOR:CEILING:STEP, got "${v.dynamic}"`);
    dynamic = { floor: BigInt(m[1]), ceiling: BigInt(m[2]), stepPerViewer: BigInt(m[3]) };
  }
  return {
    ratePerSecond: bigintArg('rate', v.rate as string | undefined),
    premiumRatePerSecond: v['premium-rate'] ? bigintArg('premium-rate', v['premium-rate'] as string) : null,
    tiers,
    dynamic,
  };
}

function streamId(s: string | undefined): bigint {
  if (!s || !/^\d+$/.test(s)) throw new UsageError(`a stream id (a number) is required, got "${s ?? ''}"`);
  return BigInt(s);
}

const json = (x: unknown) => JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2);

async function signer(api: ApiPromise, dev: string | undefined): Promise<KeyringPair> {
  if (dev) {
    if (!(await isDevChain(api))) throw new UsageError('--dev accounts exist only on local chains; set VILO_SURI');
    return new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(`//${dev[0].toUpperCase()}${dev.slice(1).toLowerCase()}`);
  }
  return signerFrom(api, process.env.VILO_SURI);
}

/**
 * Sets a stream's price plan and sets it live in one `utility.batchAll` extrinsic. Each call's gas comes
 * from its own dry run (which also refuses, by the contract's error name, before anything is signed);
 * what happened is read from the block's events.
 */
async function priceAndGoLive(api: ApiPromise, me: KeyringPair, pricing: PricingEngineContract, registry: StreamRegistryContract, id: bigint, plan: PlanInput): Promise<void> {
  const [priced, live] = await Promise.all([pricing.query.setPricePlan(me.address, id, plan), registry.query.setLive(me.address, id, true)]);
  const included = await signAndWait(api, api.tx.utility.batchAll([contractCall(api, pricing, 'setPricePlan', [id, plan], priced, true), contractCall(api, registry, 'setLive', [id, true], live, true)]), me);
  const said = [...pricing.decodeEvents(included.events), ...registry.decodeEvents(included.events)].map((e) => e.name);
  if (!said.includes('PricePlanSet') || !said.includes('StreamStatusChanged')) {
    throw new Error(`block ${included.blockHash} does not show the price plan set and the stream live (events: ${said.join(', ') || 'none'})`);
  }
}

/** A stream id no registry reaches: a price plan dry-run on it is judged on the plan alone (then StreamNotFound). */
const NO_STREAM = (1n << 64n) - 1n;

/**
 * Registers a stream, sets its price plan and sets it live in ONE `utility.batchAll` (one block; all
 * or nothing). The id is the one the registration's dry run predicts. The price and live calls cannot
 * be dry-run before the stream exists, so they carry a gas limit of a tenth of the chain's largest
 * extrinsic each (the chain charges what they use and refunds the rest); the plan itself is checked
 * first by a dry run on a stream that cannot exist (the contract validates the plan before it looks
 * for the stream), so a refused plan is named and nothing is sent. Null when another registration
 * took the predicted id first: the batch failed as a whole, nothing happened, and the caller goes the
 * two-block way.
 */
async function createLive(
  api: ApiPromise,
  me: KeyringPair,
  pricing: PricingEngineContract,
  registry: StreamRegistryContract,
  details: Parameters<StreamRegistryContract['tx']['registerStream']>[1],
  plan: PlanInput,
): Promise<{ streamId: bigint; blockHash: string } | null> {
  const [registered, planCheck] = await Promise.all([
    registry.query.registerStream(me.address, details),
    pricing.query.setPricePlan(me.address, NO_STREAM, plan).then(
      () => null,
      (e: unknown) => e,
    ),
  ]);
  // The plan passed validation if the only objection is that the stream does not exist.
  if (!(planCheck instanceof ContractError && planCheck.error.type === 'StreamNotFound')) throw planCheck ?? new Error('the price plan dry run did not stop at the missing stream');
  const id = registered.value;
  const max = api.consts.system.blockWeights.perClass.normal.maxExtrinsic.unwrap();
  const cap = { gasRequired: { refTime: max.refTime.toBigInt() / 10n, proofSize: max.proofSize.toBigInt() / 10n }, storageDeposit: 0n };
  let included;
  try {
    included = await signAndWait(
      api,
      api.tx.utility.batchAll([
        contractCall(api, registry, 'registerStream', [details], registered, true),
        contractCall(api, pricing, 'setPricePlan', [id, plan], cap, false),
        contractCall(api, registry, 'setLive', [id, true], cap, false),
      ]),
      me,
    );
  } catch (e) {
    if (e instanceof ExtrinsicFailedError && e.section === 'contracts' && e.error === 'ContractReverted') return null;
    throw e;
  }
  const events = [...registry.decodeEvents(included.events), ...pricing.decodeEvents(included.events)];
  const ours = (name: string) => events.some((e) => e.name === name && e.args.streamId === id);
  if (!ours('StreamRegistered') || !ours('PricePlanSet') || !ours('StreamStatusChanged')) {
    throw new Error(`block ${included.blockHash} does not show stream ${id} registered, priced and live (events: ${events.map((e) => e.name).join(', ') || 'none'})`);
  }
  return { streamId: id, blockHash: included.blockHash };
}

/** A contract call for a batch: gas from `dry` (a dry run's, with the bindings' margin, or a cap as is). */
function contractCall(api: ApiPromise, c: InkContract, method: string, args: unknown[], dry: { gasRequired: { refTime: bigint; proofSize: bigint }; storageDeposit: bigint }, margin: boolean) {
  return c.contract.tx[method](
    {
      gasLimit: api.registry.createType('WeightV2', margin ? withGasMargin(dry.gasRequired) : dry.gasRequired) as WeightV2,
      storageDepositLimit: dry.storageDeposit > 0n ? dry.storageDeposit.toString() : null,
    },
    ...args.map(input),
  );
}

async function main(argv: string[]): Promise<unknown> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      deployment: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      dev: { type: 'string' },
      title: { type: 'string' },
      category: { type: 'string' },
      description: { type: 'string' },
      thumbnail: { type: 'string' },
      rate: { type: 'string' },
      'premium-rate': { type: 'string' },
      tier: { type: 'string', multiple: true },
      dynamic: { type: 'string' },
      live: { type: 'boolean' },
      creator: { type: 'string' },
      name: { type: 'string' },
      avatar: { type: 'string' },
      clear: { type: 'boolean' },
    },
  });
  const [command, ...rest] = positionals;
  if (v.help || !command) {
    console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0].replace(/^\/\*\*|^ \* ?/gm, '').trim());
    return undefined;
  }
  const url = v.url ?? process.env.CONTRACTS_NODE_URL;
  if (!url) throw new UsageError('no node URL: pass --url ws://… or set CONTRACTS_NODE_URL');
  const api = await connect(url);
  try {
    const file = v.deployment ?? deploymentFile((await api.rpc.system.chain()).toString());
    if (!existsSync(file)) throw new UsageError(`no deployment record at ${file}; deploy first (npm run deploy) or pass --deployment`);
    const d = (JSON.parse(readFileSync(file, 'utf8')) as Deployment).contracts;
    const registry = new StreamRegistryContract(api, d.stream_registry.address);
    const pricing = new PricingEngineContract(api, d.pricing_engine.address);
    const payments = new PaymentHandlerContract(api, d.payment_handler.address);
    const me = await signer(api, v.dev);
    const progress = (line: string) => {
      if (!v.json) console.error(line);
    };

    switch (command) {
      case 'create': {
        const plan = planFrom(v);
        if (!v.title || !v.category) throw new UsageError('create needs --title and --category');
        progress('registering the stream …');
        const details = { title: v.title, category: v.category, description: v.description ?? '', thumbnailCid: v.thumbnail ?? null };
        if (v.live) {
          // Registered, priced and live in one block, or, if another registration took the id first, in two.
          const done = await createLive(api, me, pricing, registry, details, plan);
          if (done) return { streamId: done.streamId, live: true, plan, blockHash: done.blockHash };
          progress('another stream took the id first (nothing happened); registering, then pricing …');
        }
        const id = (await registry.tx.registerStream(me, details)).one('StreamRegistered').streamId;
        if (v.live) {
          // One extrinsic, both or neither: never live without its price, and one block instead of two.
          progress(`stream ${id} registered; setting its price plan and going live …`);
          await priceAndGoLive(api, me, pricing, registry, id, plan);
        } else {
          progress(`stream ${id} registered; setting its price plan …`);
          await pricing.tx.setPricePlan(me, id, plan);
        }
        return { streamId: id, live: !!v.live, plan };
      }
      case 'price': {
        const id = streamId(rest[0]);
        const plan = planFrom(v);
        await pricing.tx.setPricePlan(me, id, plan);
        return { streamId: id, plan };
      }
      case 'live': {
        const id = streamId(rest[0]);
        if (rest[1] !== 'on' && rest[1] !== 'off') throw new UsageError('live takes on or off');
        await registry.tx.setLive(me, id, rest[1] === 'on');
        return { streamId: id, live: rest[1] === 'on' };
      }
      case 'list': {
        const creator = v.creator ?? me.address;
        const [streams, profile] = await Promise.all([registry.query.streamsOf(me.address, creator, 0, 50), registry.query.profileOf(me.address, creator)]);
        const rows = await Promise.all(
          streams.value.map(async (s) => ({ ...s, plan: (await pricing.query.pricePlan(me.address, s.id)).value })),
        );
        return { creator, profile: profile.value, streams: rows };
      }
      case 'earnings': {
        const ids = rest.length ? rest.map(streamId) : (await registry.query.streamsOf(me.address, me.address, 0, 50)).value.map((s) => s.id);
        const rows = await Promise.all(ids.map(async (id) => ({ streamId: id, earnings: (await payments.query.earningsOf(me.address, id)).value })));
        return { earnings: rows, total: rows.reduce((a, r) => a + r.earnings, 0n) };
      }
      case 'withdraw': {
        const id = streamId(rest[0]);
        const r = await payments.tx.withdrawEarnings(me, id);
        return { streamId: id, withdrawn: r.one('EarningsWithdrawn').amount, fee: r.fee, blockHash: r.blockHash };
      }
      case 'profile': {
        if (v.clear && (v.name || v.avatar)) throw new UsageError('profile takes --clear alone, or --name (and --avatar)');
        if (v.avatar !== undefined && v.name === undefined) throw new UsageError('profile --avatar needs --name (the whole profile is replaced)');
        if (v.clear) {
          progress('removing the profile …');
          await registry.tx.clearProfile(me);
        } else if (v.name !== undefined) {
          progress('setting the profile …');
          await registry.tx.setProfile(me, { name: v.name, avatarCid: v.avatar || null });
        }
        return { account: me.address, profile: (await registry.query.profileOf(me.address, me.address)).value };
      }
      default:
        throw new UsageError(`unknown command "${command}" (create, price, live, list, earnings, withdraw, profile; --help)`);
    }
  } finally {
    await api.disconnect();
  }
}

/** What a person reads: a table for `list` and `earnings`, `key: value` lines otherwise. */
export function humanOutput(out: Record<string, unknown>): string {
  const plancks = (v: unknown) => `${v} plancks`;
  if (Array.isArray(out.streams)) {
    const rows = (out.streams as { id: bigint; title: string; category: string; live: boolean; plan: { ratePerSecond: bigint; tiers: unknown[] } | null }[]).map((s) => [
      s.id,
      s.title,
      s.category,
      s.live ? 'live' : 'offline',
      s.plan ? s.plan.ratePerSecond : 'no price',
      s.plan?.tiers.length ?? 0,
    ]);
    const profile = out.profile as { name: string } | null;
    return `streams of ${profile ? `${profile.name} (${out.creator})` : out.creator}\n${rows.length ? table(['id', 'title', 'category', 'status', 'plancks/s', 'tiers'], rows) : '(none)'}`;
  }
  if (Array.isArray(out.earnings)) {
    const rows = (out.earnings as { streamId: bigint; earnings: bigint }[]).map((r) => [r.streamId, r.earnings]);
    return `${table(['stream', 'earnings (plancks)'], rows)}\ntotal: ${plancks(out.total)}`;
  }
  if ('profile' in out && 'account' in out) {
    const p = out.profile as { name: string; avatarCid: string | null } | null;
    return p ? `account: ${out.account}\nname: ${p.name}\navatar: ${p.avatarCid ?? '(none)'}` : `account: ${out.account}\nprofile: (none)`;
  }
  return Object.entries(out)
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v)}`)
    .join('\n');
}

/** Runs one command as typed (`argv` without node and the script), prints its output and exits. */
export function cli(argv: string[]): void {
  const asJson = argv.includes('--json');
  main(argv)
    .then((out) => {
      if (out !== undefined) console.log(asJson ? json(out) : humanOutput(out as Record<string, unknown>));
      // Done: the closed WebSocket's socket would otherwise keep the process for another ~1.7 s
      // (measured) while its close handshake ends. Writes to a pipe or a terminal are synchronous on Linux.
      process.exit(0);
    })
    .catch((e: Error) => {
      const message = e instanceof ContractError ? `${e.message} [${e.error.type}]` : e.message;
      if (asJson) console.log(json({ error: { name: e.name, message, ...(e instanceof ContractError ? { type: e.error.type } : {}) } }));
      else console.error(`error: ${message}`);
      process.exit(e instanceof UsageError ? 2 : 1);
    });
}

if (import.meta.url === `file://${process.argv[1]}`) cli(process.argv.slice(2));
