/**
 * Temporary directories for one test file (deployment files, relay databases), removed after the
 * file's last test, so a test run leaves nothing behind in the system's temp dir.
 *
 * The afterAll below registers on the root suite of each test file that imports this module (vitest
 * evaluates modules per test file), and runs after the file's own afterAll hooks have stopped the
 * servers that used these directories.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];

afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new empty directory `<tmp>/vilo-<name>-XXXXXX`, removed when the test file ends. */
export function scratchDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vilo-${name}-`));
  made.push(dir);
  return dir;
}
