/**
 * Checks a wallet's signature over a text message, as wallets make them: injected extensions sign
 * `<Bytes>message</Bytes>` (signRaw wraps), keyring tools may sign the bare bytes. Both are accepted;
 * anything else — another signer, another message, a malformed signature or address — is not.
 */
import { u8aWrapBytes, stringToU8a } from '@polkadot/util';
import { cryptoWaitReady, signatureVerify } from '@polkadot/util-crypto';

export async function verifyWalletSignature(address: string, message: string, signature: string): Promise<boolean> {
  await cryptoWaitReady();
  try {
    const bytes = stringToU8a(message);
    return (
      signatureVerify(u8aWrapBytes(bytes), signature, address).isValid ||
      signatureVerify(bytes, signature, address).isValid
    );
  } catch {
    return false;
  }
}
