/** tools/creator.mjs: `npm run creator` runs a bundle of the commands, built again whenever a file it came from is newer. */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync, utimesSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const BUNDLE = join(ROOT, 'node_modules/.cache/vilokanam/creator.mjs');
const help = () => execFileSync(process.execPath, [join(ROOT, 'tools/creator.mjs'), '--help'], { cwd: ROOT, encoding: 'utf8' });

describe('the creator commands launcher', () => {
  it('builds the bundle when missing or older than a source, and reuses it otherwise', { timeout: 60_000 }, () => {
    expect(help()).toContain('Usage: npm run creator -- <command>');
    expect(existsSync(BUNDLE)).toBe(true);

    // A source edited after the bundle was built: the next command runs a new bundle.
    const long_ago = new Date('2001-01-01T00:00:00Z');
    utimesSync(BUNDLE, long_ago, long_ago);
    expect(help()).toContain('Usage: npm run creator -- <command>');
    const rebuilt = statSync(BUNDLE).mtimeMs;
    expect(rebuilt).toBeGreaterThan(long_ago.getTime());

    // Nothing changed since: the same bundle runs.
    help();
    expect(statSync(BUNDLE).mtimeMs).toBe(rebuilt);
  });
});
