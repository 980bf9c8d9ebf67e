/**
 * Every refusal the app's server gives, by name, and the one place each meets HTTP: domain code (the
 * payment gate, the relay, the history's queries) throws `new Refusal(name, sentence)` and never
 * chooses a status; the router (router.ts) answers `{error: name, message}` with the status below.
 */
export const REFUSALS = {
  // The request itself is wrong.
  BadRequest: 400,
  MalformedVoucher: 400,
  MalformedSdp: 400,
  TooManyIds: 400,
  BadAddress: 400,
  BadCursor: 400,
  BadParameter: 400,
  BadRange: 400,
  BadStreamId: 400,
  // Who asks is not shown.
  Unauthorized: 401,
  BadSignature: 401,
  ExpiredRequest: 401,
  ReplayedRequest: 401,
  // Not paid for.
  NotPaying: 402,
  TabExhausted: 402,
  // Shown, but not allowed.
  VoucherMismatch: 403,
  OtherRelay: 403,
  NotCreator: 403,
  // Nothing there.
  StreamNotFound: 404,
  NoTab: 404,
  NotLive: 404,
  NoSuchResource: 404,
  NoSuchFile: 404,
  NoEdge: 404,
  NoSuchThumbnail: 404,
  OnLiveKit: 404,
  NotOnLiveKit: 404,
  NotFound: 404,
  MethodNotAllowed: 405,
  // In conflict with what the chain or the relay holds.
  TabClosing: 409,
  WatchTermsChanged: 409,
  WatchRetired: 409,
  RateMismatch: 409,
  SubscriptionEnded: 409,
  StaleVoucher: 409,
  /** The contract's own refusal (its error's name is the refusal's: e.g. NoPricePlan). */
  ContractRefusal: 409,
  BodyTooLarge: 413,
  UnsupportedMediaType: 415,
  UpgradeRequired: 426,
  TooManyRequests: 429,
  // This server cannot answer now.
  InternalError: 500,
  MediaPlaneUnavailable: 502,
  ChainUnavailable: 503,
  Busy: 503,
  HistoryUnavailable: 503,
  HistoryOff: 503,
  HistoryStarting: 503,
} as const satisfies Record<string, number>;

export type RefusalName = keyof typeof REFUSALS;

/** A named refusal with a sentence for the user; its HTTP status comes from REFUSALS. */
export class Refusal extends Error {
  readonly status: number;

  /** `headers`: what the answer must carry besides (e.g. `Upgrade` with 426). */
  constructor(
    name: RefusalName,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = name;
    this.status = REFUSALS[name];
  }

  /** The contract refused (its error `type`, e.g. NoPricePlan): a conflict with the chain's state. */
  static contract(type: string, message: string): Refusal {
    const r = new Refusal('ContractRefusal', message);
    r.name = type;
    return r;
  }
}

/** The answer to a refusal: its status, `{error, message}`. */
export function refusalResponse(e: Refusal): Response {
  return new Response(JSON.stringify({ error: e.name, message: e.message }), { status: e.status, headers: { 'Content-Type': 'application/json', ...e.headers } });
}
