/**
 * The LiveKit plane in the browser, with LiveKit's own client (livekit-client; docs/media.md, "LiveKit"):
 *
 * - **Watching**: the watch's payment headers buy a short-lived token (POST /api/streams/:id/watch: the
 *   same checks and refusals as a WHEP offer); the page joins the stream's room subscribe-only and the
 *   publisher's tracks arrive in one MediaStream. Of a simulcast publisher's layers, LiveKit's
 *   allocator forwards the one this viewer's bandwidth estimate carries (the client asks for the top
 *   one; `adaptiveStream` is off, so the size of the page's <video> does not pick the layer). When
 *   the gate removes the watch (payment stopped) the room disconnects: `onEnd` says so, and the page
 *   asks again with its next voucher.
 * - **Publishing**: the studio's camera goes to the room with simulcast (180p under the camera's own
 *   size) and dynacast (a layer nobody receives is not encoded), with a publisher token the server
 *   mints after the same checks as a WHIP publish (POST /api/streams/:id/publisher-token).
 *
 * Loaded only on this plane (a dynamic import): the library's chunk is 0.53 MB minified (the build's).
 */
import { ConnectionError, DisconnectReason, LogLevel, Room, RoomEvent, Track, VideoPresets, setLogLevel, type RemoteTrack } from 'livekit-client';
import { MediaError, postCreated, resolveUrl } from './errors.ts';
import type { Playback } from './whep.ts';

// The library logs every reconnection attempt at "info"; the page reports what matters itself.
setLogLevel(LogLevel.warn);

/** What POST /api/streams/:id/watch (a viewer) and /publisher-token (the studio) answer: a room to join. */
export interface RoomGrant {
  url: string;
  token: string;
  room: string;
  identity: string;
}

/** Joins a room with `token`; a refusal or an unreachable LiveKit becomes a MediaError. */
async function join(room: Room, url: string, token: string): Promise<void> {
  try {
    await room.connect(url, token, { autoSubscribe: true });
  } catch (e) {
    const status = e instanceof ConnectionError ? (e.status ?? 0) : 0;
    throw new MediaError(status === 401 || status === 403 ? 'MediaPlaneRefused' : 'Unreachable', `LiveKit did not take the connection: ${(e as Error).message}`, status);
  }
}

/** Plays the stream from its LiveKit room for the watch the payment headers name. */
export async function watchRoom(o: { streamId: bigint; headers: Record<string, string>; baseUrl?: string }): Promise<Playback> {
  const res = await postCreated(resolveUrl(o.baseUrl, `/api/streams/${o.streamId}/watch`), { headers: o.headers }, 'playback');
  const g = (await res.json()) as RoomGrant;
  const room = new Room({ adaptiveStream: false, dynacast: false });
  const stream = new MediaStream();
  room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
    if (!stream.getTracks().includes(track.mediaStreamTrack)) stream.addTrack(track.mediaStreamTrack);
  });
  room.on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => stream.removeTrack(track.mediaStreamTrack));
  const ends = new Set<() => void>();
  room.on(RoomEvent.Disconnected, () => {
    for (const f of ends) f();
    ends.clear();
  });
  await join(room, g.url, g.token);
  return {
    stream,
    stop: () => room.disconnect(),
    onEnd: (f) => {
      if (room.state === 'disconnected') queueMicrotask(f);
      else ends.add(f);
    },
  };
}

export interface RoomPublishing {
  /** Leaves the room; the camera's tracks stay with their owner. */
  stop(): Promise<void>;
  /** Calls `f` once if LiveKit ends the session without `stop` (removed, the node gone, its reconnection given up), with why. */
  onEnd(f: (why: string) => void): void;
}

/** What ended a publisher's session, as a clause for the studio ("the broadcast stopped: …"). */
function endedBecause(reason: DisconnectReason | undefined): string {
  switch (reason) {
    case DisconnectReason.PARTICIPANT_REMOVED:
      return 'the media server removed this session';
    case DisconnectReason.DUPLICATE_IDENTITY:
      return 'another encoder took over this stream';
    case DisconnectReason.ROOM_DELETED:
    case DisconnectReason.ROOM_CLOSED:
      return 'the media server closed the stream';
    case DisconnectReason.SERVER_SHUTDOWN:
      return 'the media server shut down';
    default:
      return 'the connection to the media server was lost';
  }
}

/**
 * Publishes `media` into the stream's room: video with simulcast (180p and the camera's own size),
 * audio as it is. `authorization` is what a WHIP publish would carry (the stream key, or a
 * creator-signed request).
 */
export async function publishToRoom(o: { streamId: bigint; authorization: string; media: MediaStream; baseUrl?: string }): Promise<RoomPublishing> {
  const res = await postCreated(resolveUrl(o.baseUrl, `/api/streams/${o.streamId}/publisher-token`), { headers: { Authorization: o.authorization } }, 'publishing');
  const g = (await res.json()) as RoomGrant;
  // The camera belongs to the studio: LiveKit's client must not stop its tracks when the session ends.
  const room = new Room({ dynacast: true, stopLocalTrackOnUnpublish: false });
  let stopped = false;
  let endedWith: string | undefined;
  const ends = new Set<(why: string) => void>();
  room.on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
    if (stopped) return;
    endedWith = endedBecause(reason);
    for (const f of ends) f(endedWith);
    ends.clear();
  });
  await join(room, g.url, g.token);
  try {
    for (const track of o.media.getTracks()) {
      if (track.kind === 'video') {
        await room.localParticipant.publishTrack(track, {
          source: Track.Source.Camera,
          simulcast: true,
          videoSimulcastLayers: [VideoPresets.h180],
          videoEncoding: VideoPresets.h360.encoding,
        });
      } else {
        await room.localParticipant.publishTrack(track, { source: Track.Source.Microphone });
      }
    }
  } catch (e) {
    await room.disconnect(false);
    throw new MediaError('PublishFailed', `LiveKit did not take the camera: ${(e as Error).message}`, 0);
  }
  return {
    stop: () => {
      stopped = true;
      return room.disconnect(false);
    },
    onEnd: (f) => {
      if (endedWith !== undefined) queueMicrotask(() => f(endedWith!));
      else if (!stopped) ends.add(f);
    },
  };
}
