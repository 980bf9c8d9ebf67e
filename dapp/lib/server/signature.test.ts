import { describe, expect, it } from 'vitest';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex, u8aWrapBytes, stringToU8a } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { verifyWalletSignature } from './signature.ts';

describe('verifyWalletSignature', async () => {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  const bob = keyring.addFromUri('//Bob');
  const message = 'vilokanam:sign-in:abc123';

  it('accepts an extension-style signature (wrapped in <Bytes>) and a bare one', async () => {
    expect(await verifyWalletSignature(alice.address, message, u8aToHex(alice.sign(u8aWrapBytes(message))))).toBe(true);
    expect(await verifyWalletSignature(alice.address, message, u8aToHex(alice.sign(stringToU8a(message))))).toBe(true);
  });

  it('refuses another signer, another message and garbage', async () => {
    const sig = u8aToHex(alice.sign(u8aWrapBytes(message)));
    expect(await verifyWalletSignature(bob.address, message, sig)).toBe(false);
    expect(await verifyWalletSignature(alice.address, message + 'x', sig)).toBe(false);
    expect(await verifyWalletSignature(alice.address, message, '0x1234')).toBe(false);
    expect(await verifyWalletSignature('not-an-address', message, sig)).toBe(false);
  });
});
