/**
 * The video of the tab's current watch on one watch page: WebRTC from the media server (WHEP, or
 * LiveKit's client on that plane), or HLS for a stream that comes in over RTMP, each request paid by
 * a voucher of the tab.
 * It asks for WebRTC video as soon as a voucher of the watch is signed (with the first one while the
 * relay checks it, as the media server checks it too), for HLS once one is accepted; after a refusal
 * it asks again: for 402, or a connection that ended, once the relay has accepted a newer voucher
 * (a used-up tab signs none); soon for a refused first voucher (the watch may begin again at another rate); a few
 * seconds later for anything else (a publisher may start).
 */
import type { Playback, PreparedOffer } from '../media/whep.ts';
import { errorSentence } from '../format/errors.ts';
import type { TabState } from './tab.svelte.ts';

/** An offer made ahead is used within this long, ms (then a new one is made). */
const OFFER_MAX_AGE_MS = 60_000;

export class TabPlayback {
  media = $state.raw<MediaStream | null>(null);
  /** Set while the stream plays over HLS: the page attaches it to its <video> (`attachHls`). */
  hls = $state(false);
  status = $state('not playing');

  #playback: Playback | null = null;
  /** The WHEP offer made ahead (`prepare`), for the next request. */
  #offer: PreparedOffer | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #trying = false;
  /** The server offers the HLS from its signed-URL edge (presence `hlsEdge`). */
  #hlsEdge = false;
  /** The plane the media server last named: on LiveKit's, its client connects and no offer is made ahead. */
  #plane: 'werift' | 'livekit' | undefined;
  /**
   * The latest voucher when the server last answered 402, or when the connection ended (LiveKit
   * removes a watch whose payment stopped): asked again only once the relay has accepted a newer one
   * (a used-up tab signs none).
   */
  #refusedWith: object | undefined;
  #stopped = true;

  constructor(
    private readonly tabs: TabState,
    readonly streamId: bigint,
  ) {
    // What asking for video loads, loaded while the viewer reads the page (not on the join's path).
    if (typeof window !== 'undefined') void Promise.all([import('../media/presence.ts'), import('../media/whep.ts'), import('../media/tab-wire.ts')]).catch(() => {});
  }

  /** Whether the tab is watching this page's stream now. */
  get here(): boolean {
    return this.tabs.session.watching?.streamId === this.streamId;
  }

  /**
   * Makes the next WHEP request's offer now (peer connection, offer, candidates), so that asking for
   * video later is one POST: while the viewer reads the page, and when a watch begins. On LiveKit's
   * plane (`plane`, from the media server) it loads LiveKit's client instead.
   */
  async prepare(plane?: 'werift' | 'livekit'): Promise<void> {
    this.#plane = plane ?? this.#plane;
    if (typeof RTCPeerConnection === 'undefined') return;
    if (this.#plane === 'livekit') return void (await import('../media/livekit.ts'));
    if (this.#freshOffer()) return;
    const { prepareOffer } = await import('../media/whep.ts');
    if (this.#freshOffer()) return; // made by a call that overtook this one
    this.#offer?.close();
    this.#offer = prepareOffer();
  }

  /** The offer made ahead, if it can still be used (young enough, its connection not closed). */
  #freshOffer(): PreparedOffer | undefined {
    const o = this.#offer;
    return o && Date.now() - o.at < OFFER_MAX_AGE_MS && o.pc.signalingState !== 'closed' ? o : undefined;
  }

  start(): void {
    this.#stopped = false;
    void this.prepare().catch(() => {});
    void this.#try();
  }

  /** Stops, and closes the offer made ahead (the page is left). */
  close(): void {
    this.stop();
    this.#offer?.close();
    this.#offer = null;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const p = this.#playback;
    this.#playback = null;
    this.media = null;
    this.hls = false;
    this.status = 'not playing';
    void p?.stop();
  }

  /** Plays the HLS stream into `video`; returns the function that stops it. */
  async attachHls(video: HTMLVideoElement): Promise<() => void> {
    const [{ playHls }, { tabWhepHeaders }, { postCreated, MediaError }] = await Promise.all([import('../media/hls.ts'), import('../media/tab-wire.ts'), import('../media/errors.ts')]);
    const headers = () => {
      const w = this.tabs.session.watching;
      const v = this.tabs.session.latestVoucher();
      return w && v ? tabWhepHeaders({ tabId: v.tabId, watch: w.watch, voucher: v }) : undefined;
    };
    // With an HTTP edge the files come from it, under a signed prefix this page's vouchers buy.
    const edge = async () => {
      const h = headers();
      if (!h) throw new MediaError('NotPaying', 'no accepted voucher of this watch yet', 402);
      const res = await postCreated(`/api/streams/${this.streamId}/hls-edge`, { headers: h }, 'the HLS edge address');
      return (await res.json()) as { url: string; expiresAtMs: number };
    };
    const onError = (e: InstanceType<typeof MediaError>) => {
      if (!this.hls) return;
      this.hls = false;
      this.status = `Video unavailable: ${errorSentence(e)}`;
      this.#again(e.status === 402 ? 1_000 : 5_000);
    };
    try {
      const p = await playHls({ video, streamId: this.streamId, headers, edge: this.#hlsEdge ? edge : undefined, onError });
      return () => p.stop();
    } catch (e) {
      // The edge's first prefix refused or unreachable: asked again like any refusal.
      if (!(e instanceof MediaError)) throw e;
      onError(e);
      return () => {};
    }
  }

  #again(ms: number): void {
    clearTimeout(this.#timer);
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#try(), ms);
  }

  async #try(): Promise<void> {
    if (this.#stopped || this.#trying || this.#playback || this.hls || !this.here) return;
    this.#trying = true;
    let unanswered = false;
    let latestAsked: object | undefined;
    try {
      if (!this.tabs.session.signed()) return this.#again(100); // the watch's first voucher is being signed
      const latest = this.tabs.session.latestVoucher();
      if (latest && latest === this.#refusedWith) return this.#again(500); // refused with it: wait for the next
      // Ask first (a refused WHEP offer would cost a peer connection and log a failed request).
      const { fetchStreamPresence } = await import('../media/presence.ts');
      const presence = await fetchStreamPresence(this.streamId);
      if (this.#stopped) return;
      if (!presence.live && presence.hls) {
        // hls.js asks with the latest accepted voucher and fetches on its own, with no retry we
        // control: it starts once the relay has accepted one of the watch (no presence asked again).
        while (!this.tabs.session.accepted()) {
          await new Promise((r) => setTimeout(r, 100));
          if (this.#stopped || !this.here) return;
        }
        this.#hlsEdge = !!presence.hlsEdge;
        this.hls = true;
        this.status = 'playing';
        return;
      }
      if (!presence.live) {
        this.status = 'The creator is not sending video right now; waiting…';
        return this.#again(4_000);
      }
      this.status = 'connecting';
      unanswered = !this.tabs.session.accepted();
      this.#plane = presence.plane;
      if (presence.plane === 'livekit') {
        this.#offer?.close();
        this.#offer = null;
      }
      const offer = this.#freshOffer();
      latestAsked = this.tabs.session.latestVoucher();
      const p = await this.tabs.session.play(offer, presence.plane);
      if (!p) return this.#again(100);
      if (offer && this.#offer === offer) this.#offer = null; // used: the next request makes or takes another
      if (this.#stopped || !this.here) return void p.stop();
      this.#playback = p;
      this.media = p.stream;
      this.status = 'playing';
      // A connection that ends (LiveKit removes a watch whose payment stopped; a media server that
      // restarted) is asked for again: the next voucher admits it, or the refusal says why not.
      p.onEnd(() => {
        if (this.#playback !== p) return;
        // Asked again with a voucher newer than now's: the same one would be refused (a used-up tab).
        this.#refusedWith = this.tabs.session.latestVoucher();
        this.#playback = null;
        this.media = null;
        this.status = 'reconnecting';
        void p.stop();
        this.#again(500);
      });
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status === 402) this.#refusedWith = latestAsked;
      this.status = status === 404 ? 'The creator is not sending video right now; retrying…' : `Video unavailable: ${errorSentence(e)}`;
      this.#again(unanswered ? 300 : status === 402 ? 1_000 : 4_000);
    } finally {
      this.#trying = false;
    }
  }
}
