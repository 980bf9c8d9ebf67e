/** A refusal from the media server: `name` is its error name (NotPaying, Unauthorized, …). */
export class MediaError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    /** HTTP status (0 when the server could not be reached). */
    readonly status: number,
  ) {
    super(message);
  }
}

/** Turns a non-success response into a MediaError carrying the server's {error, message}. */
export async function refusal(res: Response, what: string): Promise<MediaError> {
  let body: { error?: string; message?: string } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    /* not JSON */
  }
  return new MediaError(body.error ?? `Http${res.status}`, body.message ?? `${what} failed with HTTP ${res.status}`, res.status);
}

/**
 * A POST the media server answers 201: an unreachable server becomes `Unreachable` (status 0), any
 * other answer the server's refusal (`refusal`, naming `what`).
 */
export async function postCreated(url: string, init: { headers: Record<string, string>; body?: string }, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', ...init });
  } catch (e) {
    throw new MediaError('Unreachable', `the media server did not answer: ${(e as Error).message}`, 0);
  }
  if (res.status !== 201) throw await refusal(res, what);
  return res;
}

/** Waits until ICE gathering completes (or `timeoutMs`), so the offer carries its candidates. */
export function gathered(pc: RTCPeerConnection, timeoutMs = 2_000): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    }, timeoutMs);
    pc.addEventListener('icegatheringstatechange', done);
  });
}

export function resolveUrl(baseUrl: string | undefined, path: string): string {
  return new URL(path, baseUrl ?? globalThis.location?.origin).toString();
}

/**
 * The WHIP/WHEP exchange (RFC 9725): POSTs the gathered offer with `headers`, applies the answer and
 * returns the absolute URL of the created resource (for the DELETE that ends it), if the server named one.
 */
export async function exchangeSdp(
  pc: RTCPeerConnection,
  url: string,
  headers: Record<string, string>,
  what: string,
): Promise<string | undefined> {
  await gathered(pc);
  const res = await postCreated(url, { headers: { 'Content-Type': 'application/sdp', ...headers }, body: pc.localDescription!.sdp }, what);
  const location = res.headers.get('Location');
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  return location ? new URL(location, url).toString() : undefined;
}

/**
 * The `stop` of a WHIP/WHEP session: closes the connection and ends the resource the server created
 * (a DELETE, with `headers` where the server asks for its credentials again, as LiveKit does).
 */
export function endSession(pc: RTCPeerConnection, resource: string | undefined, headers: Record<string, string> = {}): () => Promise<void> {
  return async () => {
    pc.close();
    if (resource) await fetch(resource, { method: 'DELETE', headers }).catch(() => {});
  };
}

/**
 * The headers of a receive-only offer to LiveKit's WHIP endpoint (`/whip/v1`): the viewer's token, and
 * the publisher's tracks it subscribes to, so that LiveKit's one answer carries them.
 */
export function liveKitWhipHeaders(g: { token: string; publisher: string; tracks: string[] }): Record<string, string> {
  return { Authorization: `Bearer ${g.token}`, 'X-LiveKit-ClientInfo': JSON.stringify({ subscribedParticipantTrackNames: { [g.publisher]: g.tracks } }) };
}
