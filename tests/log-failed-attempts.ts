/**
 * Prints each failed attempt of a test as it happens. The real-time browser tests retry once; when
 * the retry passes, vitest reports only "retry x1" and drops the first attempt's error. Printing it
 * here keeps the cause of every retry in the log.
 */
import { beforeEach } from 'vitest';

beforeEach(({ onTestFailed }) => {
  onTestFailed(({ task }) => {
    const attempt = (task.result?.retryCount ?? 0) + 1;
    const error = task.result?.errors?.at(-1);
    const where = error?.stack?.split('\n').slice(1, 4).join('\n') ?? '';
    console.error(`[attempt ${attempt} failed] ${task.fullName ?? task.name}: ${error?.message ?? 'no error recorded'}\n${where}`);
  });
});
