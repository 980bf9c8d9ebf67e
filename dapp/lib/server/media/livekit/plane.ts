/**
 * The media plane on LiveKit (docs/media.md, "LiveKit"): the Node server is its control plane.
 *
 * - One LiveKit room per stream (`stream-<id>`). The publisher joins it over LiveKit's WHIP endpoint
 *   with a token this server mints after checking the stream key (OBS keeps its key; LiveKit never
 *   sees it); viewers join with a token minted after the payment checks.
 * - A viewer's token is short-lived (`viewerTtlS`, default 15 s, and LiveKit allows a minute of clock
 *   skew past it: it only admits the join), names one room and one identity (`tab:<tab id>:<watch>`)
 *   and may subscribe but not publish, publish data or change its own metadata. A second join with the same identity replaces the first (LiveKit's rule),
 *   so a replayed token takes the payer's place; it never adds a free viewer.
 * - The gate stays continuous: `LiveKitGate` asks the tab gate every `intervalMs` and, when a watch
 *   stops being covered, removes the participant from the room (LiveKit stops its media at once and
 *   closes its connection); after a top-up the viewer's next voucher gets a new token. (A viewer on
 *   LiveKit's WHIP has no signalling channel, so a revoked subscription could not be renegotiated
 *   back; removal is the revocation every client understands.)
 */
import { AccessToken, RoomServiceClient, TwirpError } from 'livekit-server-sdk';

export interface LiveKitConfig {
  url: string;
  apiKey: string;
  apiSecret: string;
}

/** A refusal of LiveKit's, passed on: its status and its words. */
export class LiveKitRefusal extends Error {
  override name = 'LiveKitRefusal';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const roomOf = (streamId: bigint) => `stream-${streamId}`;
/** The stream a room is of (`roomOf`'s inverse); undefined for a room that is not a stream's. */
export const streamOfRoom = (room: string): bigint | undefined => {
  const m = /^stream-([0-9]{1,20})$/.exec(room);
  return m ? BigInt(m[1]) : undefined;
};
export const viewerIdentity = (tabId: bigint, watch: number) => `tab:${tabId}:${watch}`;
export const PUBLISHER_IDENTITY = 'publisher';
/** The control plane's own subscriber in each live room (livekit/thumbnailer.ts). */
export const THUMBNAILER_IDENTITY = 'thumbnails';
/**
 * The participant attribute naming the control plane that minted a viewer's token (its relay
 * account: a tab is served by one relay): with several control planes on one LiveKit, each judges
 * only its own viewers. LiveKit keeps it in the tokens it hands back.
 */
export const OWNER_ATTRIBUTE = 'vilo.owner';
const parseViewer = (identity: string) => {
  const m = /^tab:([0-9]{1,20}):([0-9]{1,10})$/.exec(identity);
  return m ? { tabId: BigInt(m[1]), watch: Number(m[2]) } : undefined;
};

export class LiveKitPlane {
  readonly rooms: RoomServiceClient;
  private readonly viewerTtlS: number;

  constructor(
    readonly config: LiveKitConfig,
    o: { viewerTtlS?: number } = {},
  ) {
    this.rooms = new RoomServiceClient(config.url, config.apiKey, config.apiSecret);
    this.viewerTtlS = o.viewerTtlS ?? 15;
  }

  /** The publisher's token: publish into the stream's room only; it subscribes to nothing. */
  publisherToken(streamId: bigint): Promise<string> {
    const t = new AccessToken(this.config.apiKey, this.config.apiSecret, { identity: PUBLISHER_IDENTITY, ttl: 60 });
    t.addGrant({ room: roomOf(streamId), roomJoin: true, canPublish: true, canSubscribe: false, canPublishData: false, canUpdateOwnMetadata: false });
    return t.toJwt();
  }

  /**
   * A viewer's token for one watch of one tab: join this stream's room and subscribe; nothing else.
   * `owner`: the minting control plane, kept as the participant's `OWNER_ATTRIBUTE`.
   */
  viewerToken(streamId: bigint, tabId: bigint, watch: number, ttlS = this.viewerTtlS, owner?: string): Promise<string> {
    const t = new AccessToken(this.config.apiKey, this.config.apiSecret, { identity: viewerIdentity(tabId, watch), ttl: ttlS, ...(owner ? { attributes: { [OWNER_ATTRIBUTE]: owner } } : {}) });
    t.addGrant({ room: roomOf(streamId), roomJoin: true, canPublish: false, canSubscribe: true, canPublishData: false, canUpdateOwnMetadata: false, hidden: true });
    return t.toJwt();
  }

  /** A token for one of the control plane's own subscribers (`identity`, e.g. the thumbnailer): hidden, subscribe only, 1 minute. */
  serviceToken(streamId: bigint, identity: string): Promise<string> {
    const t = new AccessToken(this.config.apiKey, this.config.apiSecret, { identity, ttl: 60 });
    t.addGrant({ room: roomOf(streamId), roomJoin: true, canPublish: false, canSubscribe: true, canPublishData: false, canUpdateOwnMetadata: false, hidden: true });
    return t.toJwt();
  }

  /**
   * Sends a WHIP offer to LiveKit with `token` (the publisher's, or a viewer's for a receive-only
   * offer) and returns LiveKit's answer and resource URL.
   */
  async whip(offer: string, token: string, headers: Record<string, string> = {}): Promise<{ answer: string; location: string }> {
    const res = await fetch(new URL('/whip/v1', this.config.url), {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
      body: offer,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (res.status !== 201) throw new LiveKitRefusal(res.status, `LiveKit refused the offer: ${res.status} ${text.trim()}`);
    return { answer: text, location: new URL(res.headers.get('Location') ?? '', this.config.url).toString() };
  }

  private readonly tracks = new Map<string, { at: number; names: Promise<string[]> }>();

  /**
   * The names of the tracks the stream's publisher sends (read at most every 2 s): a WHIP viewer's
   * one-shot offer names what it subscribes to (`X-LiveKit-ClientInfo`); LiveKit's SDK needs none.
   */
  publisherTracks(streamId: bigint): Promise<string[]> {
    const room = roomOf(streamId);
    const hit = this.tracks.get(room);
    if (hit && Date.now() - hit.at < 2_000) return hit.names;
    const names = this.rooms
      .listParticipants(room)
      .then((ps) => ps.find((p) => p.identity === PUBLISHER_IDENTITY)?.tracks.map((t) => t.name) ?? [])
      .catch(() => [] as string[]);
    this.tracks.set(room, { at: Date.now(), names });
    if (this.tracks.size > 10_000) this.tracks.clear();
    return names;
  }

  /** Grants or revokes a participant's subscriptions. Resolves false when it is not in the room (yet). */
  async setSubscribe(streamId: bigint, identity: string, canSubscribe: boolean): Promise<boolean> {
    try {
      await this.rooms.updateParticipant(roomOf(streamId), identity, { permission: { canSubscribe, canPublish: false, canPublishData: false, hidden: true } });
      return true;
    } catch (e) {
      if (e instanceof TwirpError && (e.status === 404 || e.code === 'not_found')) return false;
      throw e;
    }
  }

  /** Removes a participant (a watch that ended); false when it was not there. */
  async remove(streamId: bigint, identity: string): Promise<boolean> {
    try {
      await this.rooms.removeParticipant(roomOf(streamId), identity);
      return true;
    } catch (e) {
      if (e instanceof TwirpError && (e.status === 404 || e.code === 'not_found')) return false;
      throw e;
    }
  }
}

/** The payment gate's answer for a watch now (TabGate.decideNow). */
export type Decide = (tabId: bigint, watch: number) => { open: boolean; reason?: string };

interface Granted {
  streamId: bigint;
  tabId: bigint;
  watch: number;
  /** What LiveKit was last told (undefined: nothing yet, or the participant had not joined). */
  told?: boolean;
  /** When the token was minted: a watch not in its room is forgotten after the token's life. */
  issuedAt: number;
}

/**
 * Keeps LiveKit's rooms equal to the gate's decisions. Every `intervalMs` each followed watch is
 * decided; a closed one is removed at once (one Room-service call). A call that fails is retried on
 * the next round, so the room converges on the gate's answer.
 */
export class LiveKitGate {
  private readonly watches = new Map<string, Granted>();
  private timer?: ReturnType<typeof setInterval>;
  private running = false;
  /** Transitions sent, for metrics and tests: `[identity, canSubscribe, at]`. */
  readonly sent: [string, boolean, number][] = [];

  constructor(
    private readonly plane: LiveKitPlane,
    private readonly decide: Decide,
    private readonly o: {
      intervalMs?: number;
      forgetAfterMs?: number;
      now?: () => number;
      onError?: (e: Error) => void;
      /** This control plane's name on its viewers' tokens (`OWNER_ATTRIBUTE`): its relay account. */
      owner?: () => string | undefined;
    } = {},
  ) {}

  /** A token was minted for this watch: follow it from now on. */
  follow(streamId: bigint, tabId: bigint, watch: number): void {
    // A new token re-admits the watch: it is confirmed in its room again.
    this.watches.set(viewerIdentity(tabId, watch), { streamId, tabId, watch, issuedAt: this.now() });
  }

  /** Stops following a watch (it ended). */
  unfollow(tabId: bigint, watch: number): void {
    this.watches.delete(viewerIdentity(tabId, watch));
  }

  /**
   * Whether a viewer LiveKit reports in `room` may be there: a watch of that room the gate follows
   * (a token was minted for it after the payment checks) and finds paid now. LiveKit gives every
   * connected participant a fresh 10-minute token (at join, and after each permission change): a
   * viewer who kept one could come back after her watch was removed, unfollowed. The webhook route
   * asks this of every participant that joins, and removes those it refuses.
   */
  mayWatch(room: string, identity: string): boolean {
    const w = this.watches.get(identity);
    if (w) return roomOf(w.streamId) === room && this.decide(w.tabId, w.watch).open;
    // Not followed (this control plane restarted, or forgot the watch after removing it): judged by
    // its tab's payment now, and followed again if paid.
    const v = parseViewer(identity);
    const streamId = streamOfRoom(room);
    if (!v || streamId === undefined || !this.decide(v.tabId, v.watch).open) return false;
    this.follow(streamId, v.tabId, v.watch);
    return true;
  }

  /**
   * Whether a participant may be in `room`: the publisher, the control plane's own, a paid watch, or
   * another control plane's viewer (`attributes` name another owner: that one judges it).
   */
  mayStay(room: string, identity: string, attributes: Record<string, string> = {}): boolean {
    if (identity === PUBLISHER_IDENTITY || identity === THUMBNAILER_IDENTITY) return true;
    const owner = attributes[OWNER_ATTRIBUTE];
    if (owner !== undefined && owner !== this.o.owner?.()) return true;
    return this.mayWatch(room, identity);
  }

  /**
   * Removes from the rooms of `streamIds` everyone who may not stay (`mayStay`): one ListParticipants
   * per room. The webhook removes such a participant as it joins; this sweep, every `sweepMs`,
   * catches one whose webhook was lost or never configured. Resolves to the identities removed.
   */
  async sweep(streamIds: bigint[]): Promise<string[]> {
    const removed: string[] = [];
    await Promise.all(
      streamIds.map(async (id) => {
        const room = roomOf(id);
        try {
          for (const p of await this.plane.rooms.listParticipants(room)) {
            if (this.mayStay(room, p.identity, p.attributes)) continue;
            if (await this.plane.remove(id, p.identity)) removed.push(p.identity);
          }
        } catch (e) {
          this.o.onError?.(e as Error);
        }
      }),
    );
    return removed;
  }

  /** This control plane's name on its viewers' tokens (`OWNER_ATTRIBUTE`). */
  owner(): string | undefined {
    return this.o.owner?.();
  }

  /** The watches of `streamId` LiveKit was last told may subscribe (in the room, paying). */
  granted(streamId: bigint): { tabId: bigint; watch: number }[] {
    return [...this.watches.values()].filter((w) => w.streamId === streamId && w.told === true);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.round(), this.o.intervalMs ?? 250);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One pass over the followed watches (the timer calls it; tests may too). A watch the gate closes is
   * removed from its room: its viewer asks again with a new voucher (a new token) once it pays. A
   * watch that is open is confirmed in the room once (so `granted` counts only viewers who joined).
   */
  async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const now = this.now();
      const expired = (w: Granted) => now - w.issuedAt > (this.o.forgetAfterMs ?? 60_000);
      await Promise.all(
        [...this.watches].map(async ([id, w]) => {
          const open = this.decide(w.tabId, w.watch).open;
          if (open && w.told === true) return;
          try {
            if (open) {
              if (await this.plane.setSubscribe(w.streamId, id, true)) {
                w.told = true;
                this.sent.push([id, true, this.now()]);
              } else if (expired(w)) this.watches.delete(id); // never came, or left
            } else if ((await this.plane.remove(w.streamId, id)) || w.told === true || expired(w)) {
              // Removed now, or left on its own after it had joined: either way it must ask again.
              this.watches.delete(id);
              this.sent.push([id, false, this.now()]);
            }
            if (this.sent.length > 1_000) this.sent.splice(0, 500);
          } catch (e) {
            this.o.onError?.(e as Error);
          }
        }),
      );
    } finally {
      this.running = false;
    }
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }
}

/**
 * Which rooms have a publisher now, from LiveKit's Room service (one `ListRooms` call every
 * `intervalMs` for all streams): the "live" the app shows is LiveKit's, not the chain's flag.
 */
export class LiveRooms {
  private readonly lastLiveAt = new Map<string, number>();
  private readonly viewers = new Map<string, number>();
  /** Rooms with a publisher at the last poll (less those whose publisher this server removed since). */
  private readonly publishing = new Set<string>();
  /** Rooms whose publisher this server removed → until when their participants are read instead of the summary. */
  private readonly ended = new Map<string, number>();
  private timer?: ReturnType<typeof setInterval>;
  private polled = false;

  constructor(
    private readonly plane: LiveKitPlane,
    private readonly o: { intervalMs?: number; now?: () => number; onError?: (e: Error) => void } = {},
  ) {}

  start(): void {
    void this.poll();
    this.timer ??= setInterval(() => void this.poll(), this.o.intervalMs ?? 1_000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async poll(): Promise<void> {
    try {
      const rooms = await this.plane.rooms.listRooms();
      const now = this.o.now?.() ?? Date.now();
      this.viewers.clear();
      this.publishing.clear();
      for (const r of rooms) {
        let publishing = r.numPublishers > 0;
        const until = this.ended.get(r.name);
        if (until !== undefined && now > until) this.ended.delete(r.name);
        else if (until !== undefined && publishing) {
          publishing = (await this.plane.rooms.listParticipants(r.name)).some((p) => p.tracks.length > 0);
        }
        if (publishing) {
          this.lastLiveAt.set(r.name, now);
          this.publishing.add(r.name);
        }
        this.viewers.set(r.name, Math.max(0, r.numParticipants - r.numPublishers));
      }
      this.polled = true;
    } catch (e) {
      this.o.onError?.(e as Error);
    }
  }

  /**
   * This server removed the stream's publisher: it is off air now ("reconnecting", as when a
   * publisher's packets stop, until the window for that passes). LiveKit's room summary keeps
   * counting the publisher for several seconds (measured: still live 5 s after the removal), so for
   * the next 10 s the room's participants say whether someone publishes again.
   */
  publisherEnded(streamId: bigint): void {
    const room = roomOf(streamId);
    this.publishing.delete(room);
    this.ended.set(room, (this.o.now?.() ?? Date.now()) + 10_000);
  }

  /** Whether the stream's room had a publisher at the last poll, and this server has not removed it since. */
  hasPublisher(streamId: bigint): boolean {
    return this.publishing.has(roomOf(streamId));
  }

  /** When the stream's room last had a publisher (0: never seen). */
  lastLive(streamId: bigint): number {
    return this.lastLiveAt.get(roomOf(streamId)) ?? 0;
  }

  /** Whether the room had a publisher at the last poll (asks LiveKit now before the first poll). */
  async isLive(streamId: bigint): Promise<boolean> {
    if (!this.polled) await this.poll();
    return this.hasPublisher(streamId) && (this.o.now?.() ?? Date.now()) - this.lastLive(streamId) <= 2 * (this.o.intervalMs ?? 1_000) + 500;
  }

  /** The streams whose room is live now (as `isLive`, from the last poll). */
  liveStreams(): bigint[] {
    const now = this.o.now?.() ?? Date.now();
    return [...this.lastLiveAt].flatMap(([room, at]) => {
      const id = streamOfRoom(room);
      return id !== undefined && now - at <= 2 * (this.o.intervalMs ?? 1_000) + 500 ? [id] : [];
    });
  }

  /** Participants of the room that do not publish (viewers), at the last poll. */
  viewerCount(streamId: bigint): number {
    return this.viewers.get(roomOf(streamId)) ?? 0;
  }
}
