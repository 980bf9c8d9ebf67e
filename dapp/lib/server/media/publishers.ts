/**
 * Who may publish a stream, and who may ask for its key: the stream key (OBS, ffmpeg), or — for the
 * studio's camera, so that going live from the browser never replaces the key an encoder holds — a
 * single-use request the creator's wallet signed within the last 5 minutes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { verifyWalletSignature } from '../signature.ts';
import { Refusal } from '../refusals.ts';
import type { TabChain } from './chain.ts';
import type { Store } from './store.ts';

/** How long a creator's signed request stays valid. */
export const KEY_REQUEST_TTL_MS = 5 * 60_000;

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * How a publisher got in: with the stream key (an encoder: its session ends when the key is
 * replaced) or with a request the creator signed (the studio's camera: a new key leaves it alone).
 */
export type Admission = 'key' | 'creator';

export class Publishers {
  /** Per stream: the timestamp of the last creator-signed publish request used (each is single-use). */
  private readonly publishRequests = new Map<string, number>();

  constructor(private readonly o: { chain: TabChain; store: Store }) {}

  /**
   * Throws 401 unless `auth` is the stream key (`Bearer <key>`) or a creator-signed request not used
   * before: `Bearer creator.<address>.<timestamp>.<signature of "vilokanam:publish:<stream>:<timestamp>">`.
   */
  async check(streamId: bigint, auth: string | null): Promise<Admission> {
    const m = /^Bearer (\S{1,512})$/.exec(auth ?? '');
    const signed = m && /^creator\.([1-9A-HJ-NP-Za-km-z]{40,60})\.([0-9]{1,15})\.(0x[0-9a-fA-F]{128,140})$/.exec(m[1]);
    if (signed) {
      const [, address, ts, signature] = signed;
      const timestamp = Number(ts);
      await this.checkCreatorRequest(streamId, address, timestamp, signature, `vilokanam:publish:${streamId}:${timestamp}`);
      if (timestamp <= (this.publishRequests.get(streamId.toString()) ?? 0)) {
        throw new Refusal('ReplayedRequest', 'this signed publish request was already used: sign a new one');
      }
      this.publishRequests.set(streamId.toString(), timestamp);
      return 'creator';
    }
    const stored = this.o.store.keyHash(streamId);
    const ok = !!m && !!stored && timingSafeEqual(Buffer.from(sha256(m[1]), 'hex'), Buffer.from(stored.keySha256, 'hex'));
    if (!ok) throw new Refusal('Unauthorized', 'publishing needs the stream key as "Authorization: Bearer <key>"');
    return 'key';
  }

  /** A request the stream's creator signed with their wallet within KEY_REQUEST_TTL_MS (throws 401/403/404/503). */
  async checkCreatorRequest(streamId: bigint, address: string, timestamp: number, signature: string, message: string): Promise<void> {
    if (Math.abs(Date.now() - timestamp) > KEY_REQUEST_TTL_MS) {
      throw new Refusal('ExpiredRequest', 'the signed request is older than 5 minutes (or from the future): sign a new one');
    }
    if (!(await verifyWalletSignature(address, message, signature))) {
      throw new Refusal('BadSignature', `the signature is not ${address}'s signature of "${message}"`);
    }
    let stream;
    try {
      stream = await this.o.chain.stream(streamId);
    } catch (e) {
      throw new Refusal('ChainUnavailable', `the chain cannot be read: ${(e as Error).message}`);
    }
    if (!stream) throw new Refusal('StreamNotFound', `there is no stream ${streamId}`);
    if (stream.creator !== address) throw new Refusal('NotCreator', `${address} is not the creator of stream ${streamId}`);
  }

  /** The stream a stream key publishes (RTMP ingest names only the key). */
  streamForKey(key: string): bigint | undefined {
    return key.length <= 512 ? this.o.store.streamForKeyHash(sha256(key)) : undefined;
  }
}
