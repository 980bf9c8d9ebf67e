#!/usr/bin/env node
/**
 * Runs the creator commands (scripts/creator.ts) from one bundled file instead of through tsx.
 *
 * Why: loading the program through tsx (compiling each TypeScript file, resolving some 800 modules of
 * @polkadot/*) took 1.4–2 s of every command before it touched the chain; the bundle loads in ~0.3 s.
 * The bundle (esbuild, a dev dependency already) is kept in node_modules/.cache/vilokanam/ and built
 * again, in about a second, whenever a file it was built from is newer than it — so an edited
 * script or an updated package is never run stale. Each source file keeps its own `import.meta.url`
 * (the project's paths are found from it), so the bundle behaves as the sources do.
 *
 * Usage: node tools/creator.mjs <command> [options]   (what `npm run creator -- …` runs)
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, 'node_modules/.cache/vilokanam');
const BUNDLE = join(CACHE, 'creator.mjs');
const INPUTS = join(CACHE, 'creator.inputs.json');
/** The bundle's entry is given inline (it is no file to watch). */
const ENTRY = '<creator-entry>';

/** Whether the bundle exists and no file it was built from changed after it. */
function current() {
  try {
    const built = statSync(BUNDLE).mtimeMs;
    const inputs = JSON.parse(readFileSync(INPUTS, 'utf8'));
    return inputs.every((f) => statSync(join(ROOT, f)).mtimeMs <= built);
  } catch {
    return false; // no bundle, no list, or a source gone: build
  }
}

async function bundle() {
  const { build } = await import('esbuild');
  const ownUrl = {
    name: 'own-import-meta-url',
    setup(b) {
      // Project files only: their import.meta.url becomes their own file's URL, not the bundle's.
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const source = readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
        return { contents: source, loader: 'ts' };
      });
    },
  };
  const result = await build({
    stdin: { contents: "import { cli } from './scripts/creator.ts'; cli(process.argv.slice(2));", resolveDir: ROOT, loader: 'ts', sourcefile: ENTRY },
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // CommonJS packages inside an ES module bundle call require(): give them Node's.
    banner: { js: "import { createRequire as __viloRequire } from 'node:module'; const require = __viloRequire(import.meta.url);" },
    plugins: [ownUrl],
    metafile: true,
    write: false,
    logLevel: 'error',
    tsconfigRaw: {},
  });
  mkdirSync(CACHE, { recursive: true });
  // Written beside and renamed: two commands started at once never run a half-written bundle.
  const tmp = `${BUNDLE}.${process.pid}.tmp`;
  writeFileSync(tmp, result.outputFiles[0].contents);
  const inputs = Object.keys(result.metafile.inputs).filter((f) => f !== ENTRY);
  writeFileSync(`${INPUTS}.${process.pid}.tmp`, JSON.stringify(inputs));
  renameSync(`${INPUTS}.${process.pid}.tmp`, INPUTS);
  renameSync(tmp, BUNDLE);
}

if (!current()) await bundle();
await import(pathToFileURL(BUNDLE).href);
