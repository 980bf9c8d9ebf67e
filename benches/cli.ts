/**
 * How long each creator command takes as a creator runs it (`npm run creator -- …`), and where the
 * time goes: starting Node and loading the program (`--help`), connecting (a read-only `list` of
 * an account with no streams), and each command on the default local chain.
 *
 * Run: npm run bench:cli   (writes the "cli" section of docs/benchmarks.md and cli_command_s_median)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../scripts/lib/toolchain.ts';
import { openBench, writeFigures, writeSection } from './lib.ts';

const RUNS = Number(process.env.VILO_BENCH_RUNS ?? 3);
const TARGET_S = 5;

const b = await openBench();
const dir = mkdtempSync(join(tmpdir(), 'vilo-cli-bench-'));
const deployment = join(dir, 'deployment.json');
writeFileSync(deployment, JSON.stringify(b.deployment, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));

/** Seconds one `npm run creator -- args` takes, start to exit, as a creator types it. */
function timed(args: string[]): number {
  const t0 = performance.now();
  execFileSync('npm', ['run', '--silent', 'creator', '--', ...args, '--url', b.chain.url, '--deployment', deployment], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, VILO_SURI: '' },
  });
  return (performance.now() - t0) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, c) => a - c)[Math.floor(xs.length / 2)];

try {
  // One stream to list, price and read; its id is 1 on the bench's fresh chain.
  timed(['create', '--dev', 'bob', '--title', 'Bench', '--category', 'music', '--rate', '1000000']);
  const commands: [string, string[]][] = [
    ['--help (Node, loading the bundled program: tools/creator.mjs)', ['--help']],
    ['list, an account with no streams (connect + one read)', ['list', '--dev', 'eve']],
    ['list (1 stream)', ['list', '--dev', 'bob']],
    ['earnings', ['earnings', '--dev', 'bob']],
    ['price (1 transaction)', ['price', '1', '--rate', '2000000', '--dev', 'bob']],
    ['live on / off (1 transaction)', ['live', '1', 'on', '--dev', 'bob']],
    ['create --live (1 extrinsic: register, price and live in one batch)', ['create', '--dev', 'bob', '--title', 'Bench', '--category', 'music', '--rate', '1000000', '--live']],
  ];
  const rows: { label: string; s: number }[] = [];
  for (const [label, args] of commands) {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      if (args[0] === 'live') args[2] = i % 2 === 0 ? 'on' : 'off';
      times.push(timed(args));
    }
    rows.push({ label, s: median(times) });
    console.log(`[bench] ${label}: ${times.map((t) => t.toFixed(2)).join(' s, ')} s`);
  }
  const worst = Math.max(...rows.slice(1).map((r) => r.s));
  writeSection(
    'cli',
    [
      `Median of ${RUNS} runs of \`npm run creator -- …\` on a fresh default (chopsticks) chain, start to exit; target ≤ ${TARGET_S} s a command.`,
      '',
      '| command | seconds |',
      '| --- | --- |',
      ...rows.map((r) => `| ${r.label} | ${r.s.toFixed(2)} |`),
      '',
      `Slowest command: **${worst.toFixed(2)} s** (target ≤ ${TARGET_S} s: ${worst <= TARGET_S ? 'met' : 'missed'}).`,
    ].join('\n'),
  );
  writeFigures([{ name: 'cli_command_s_median', value: Number(worst.toFixed(2)), unit: 's', target: `≤ ${TARGET_S}`, command: 'npm run bench:cli' }]);
} finally {
  rmSync(dir, { recursive: true, force: true });
  await b.close();
}
