import { describe, expect, it } from 'vitest';
import { TypeRegistry } from '@polkadot/types';
import { plain } from './runtime.ts';

describe('plain: decoded values as the generated types say', () => {
  const registry = new TypeRegistry();
  registry.register({ Terms: { stream_id: 'Compact<u64>', rate_per_second: 'Compact<u128>', watch: 'Compact<u32>' } });

  it('gives a #[codec(compact)] field’s integer like any other: bigint above 32 bits, number at 32 or below', () => {
    // toJSON would give 5 for a small u64 and hex for a large u128: a bigint compared with === fails.
    expect(plain(registry.createType('Terms', { stream_id: 5, rate_per_second: 10n ** 20n, watch: 3 }))).toEqual({ stream_id: 5n, rate_per_second: 10n ** 20n, watch: 3 });
  });
});
