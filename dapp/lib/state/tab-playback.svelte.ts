/**
 * The video of the tab's current watch on one watch page: WebRTC (WHEP) from the media server, or
 * HLS for a stream that comes in over RTMP, each request paid by the tab's latest accepted voucher.
 * It asks for video only once a voucher of the watch is accepted (the gate has then seen it pay), and
 * after a refusal asks again: within a second for 402 (the next voucher opens the gate), a few seconds
 * for anything else (a publisher may start).
 */
import type { Playback } from '../media/whep.ts';
import { errorSentence } from '../format/errors.ts';
import type { TabState } from './tab.svelte.ts';

export class TabPlayback {
  media = $state.raw<MediaStream | null>(null);
  /** Set while the stream plays over HLS: the page attaches it to its <video> (`attachHls`). */
  hls = $state(false);
  status = $state('not playing');

  #playback: Playback | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #trying = false;
  #stopped = true;

  constructor(
    private readonly tabs: TabState,
    readonly streamId: bigint,
  ) {}

  /** Whether the tab is watching this page's stream now. */
  get here(): boolean {
    return this.tabs.watching?.streamId === this.streamId;
  }

  start(): void {
    this.#stopped = false;
    void this.#try();
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
    const [{ playHls }, { tabWhepHeaders }] = await Promise.all([import('../media/hls.ts'), import('../media/tab-wire.ts')]);
    const p = await playHls({
      video,
      streamId: this.streamId,
      headers: () => {
        const w = this.tabs.watching;
        const v = this.tabs.latestVoucher();
        return w && v ? tabWhepHeaders({ tabId: v.tabId, watch: w.watch, voucher: v }) : undefined;
      },
      onError: (e) => {
        if (!this.hls) return;
        this.hls = false;
        this.status = `Video unavailable: ${errorSentence(e)}`;
        this.#again(e.status === 402 ? 1_000 : 5_000);
      },
    });
    return () => p.stop();
  }

  #again(ms: number): void {
    clearTimeout(this.#timer);
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#try(), ms);
  }

  async #try(): Promise<void> {
    if (this.#stopped || this.#trying || this.#playback || this.hls || !this.here) return;
    this.#trying = true;
    try {
      if (!this.tabs.accepted()) return this.#again(100); // the watch's first voucher is on its way
      // Ask first (a refused WHEP offer would cost a peer connection and log a failed request).
      const { fetchStreamPresence } = await import('../media/presence.ts');
      const presence = await fetchStreamPresence(this.streamId);
      if (this.#stopped) return;
      if (!presence.live && presence.hls) {
        this.hls = true;
        this.status = 'playing';
        return;
      }
      if (!presence.live) {
        this.status = 'The creator is not sending video right now; waiting…';
        return this.#again(4_000);
      }
      this.status = 'connecting';
      const p = await this.tabs.play();
      if (!p) return this.#again(100);
      if (this.#stopped || !this.here) return void p.stop();
      this.#playback = p;
      this.media = p.stream;
      this.status = 'playing';
    } catch (e) {
      const status = (e as { status?: number }).status;
      this.status = status === 404 ? 'The creator is not sending video right now; retrying…' : `Video unavailable: ${errorSentence(e)}`;
      this.#again(status === 402 ? 1_000 : 4_000);
    } finally {
      this.#trying = false;
    }
  }
}
