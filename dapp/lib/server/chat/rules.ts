/**
 * The chat's rules, pure: what a client may send (frames), the limits, the word filter. The hub
 * (hub.ts) applies them; a frame that breaks one is refused with a named error and changes nothing.
 */

/** Longest message, in bytes of UTF-8. */
export const MAX_MESSAGE_BYTES = 500;
/** Longest frame a client may send, in bytes (a message and its JSON envelope). */
export const MAX_FRAME_BYTES = 2_048;
/** The reactions a viewer may send, aggregated per second over the player. */
export const REACTIONS = ['👏', '❤️', '😂', '🔥', '😮'] as const;
export type Reaction = (typeof REACTIONS)[number];
/** Longest timeout and slow-mode interval, seconds. */
export const MAX_TIMEOUT_S = 7 * 24 * 3600;
export const MAX_SLOW_S = 600;
/** Most words in a stream's filter, and longest word. */
export const MAX_FILTER_WORDS = 100;
export const MAX_FILTER_WORD_CHARS = 40;

/** What a client sends. */
export type ClientFrame =
  | { type: 'say'; text: string }
  | { type: 'react'; reaction: Reaction }
  | { type: 'delete'; id: number }
  | { type: 'timeout'; account: string; seconds: number }
  | { type: 'ban'; account: string }
  | { type: 'unban'; account: string }
  | { type: 'slow'; seconds: number }
  | { type: 'words'; words: string[] }
  | { type: 'moderator'; account: string; on: boolean }
  | { type: 'requirePayment'; on: boolean };

/** Why a frame was refused (sent back as `{type: 'refused', error, message}`). */
export type Refusal =
  | 'BadFrame'
  | 'FrameTooLarge'
  | 'MessageTooLong'
  | 'EmptyMessage'
  | 'SignInRequired'
  | 'PaymentRequired'
  | 'Banned'
  | 'TimedOut'
  | 'SlowMode'
  | 'RateLimited'
  | 'WordFiltered'
  | 'NotModerator'
  | 'NotCreator'
  | 'NoSuchMessage';

export class ChatRefusal extends Error {
  constructor(
    readonly error: Refusal,
    message: string,
  ) {
    super(message);
  }
}

const refuse = (error: Refusal, message: string): never => {
  throw new ChatRefusal(error, message);
};

const ADDRESS = /^[1-9A-HJ-NP-Za-km-z]{46,48}$/;
const whole = (v: unknown, min: number, max: number, name: string) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : refuse('BadFrame', `${name} must be a whole number from ${min} to ${max}`);
const account = (v: unknown) => (typeof v === 'string' && ADDRESS.test(v) ? v : refuse('BadFrame', 'account must be an SS58 address'));

/** A client's frame, checked; throws ChatRefusal. */
export function parseFrame(raw: string): ClientFrame {
  if (Buffer.byteLength(raw) > MAX_FRAME_BYTES) refuse('FrameTooLarge', `a frame may have at most ${MAX_FRAME_BYTES} bytes`);
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return refuse('BadFrame', 'a frame is one JSON object');
  }
  if (typeof f !== 'object' || f === null) refuse('BadFrame', 'a frame is one JSON object');
  switch (f.type) {
    case 'say': {
      if (typeof f.text !== 'string') refuse('BadFrame', 'text must be a string');
      const text = (f.text as string).trim();
      if (!text) refuse('EmptyMessage', 'the message is empty');
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_MESSAGE_BYTES) refuse('MessageTooLong', `the message is ${bytes} bytes; at most ${MAX_MESSAGE_BYTES}`);
      return { type: 'say', text };
    }
    case 'react':
      if (!REACTIONS.includes(f.reaction as Reaction)) refuse('BadFrame', `reaction must be one of ${REACTIONS.join(' ')}`);
      return { type: 'react', reaction: f.reaction as Reaction };
    case 'delete':
      return { type: 'delete', id: whole(f.id, 1, Number.MAX_SAFE_INTEGER, 'id') };
    case 'timeout':
      return { type: 'timeout', account: account(f.account), seconds: whole(f.seconds, 1, MAX_TIMEOUT_S, 'seconds') };
    case 'ban':
    case 'unban':
      return { type: f.type, account: account(f.account) };
    case 'slow':
      return { type: 'slow', seconds: whole(f.seconds, 0, MAX_SLOW_S, 'seconds') };
    case 'words': {
      const words = f.words;
      if (!Array.isArray(words) || words.length > MAX_FILTER_WORDS || !words.every((w) => typeof w === 'string' && w.trim().length > 0 && w.length <= MAX_FILTER_WORD_CHARS)) {
        refuse('BadFrame', `words must be at most ${MAX_FILTER_WORDS} non-empty words of at most ${MAX_FILTER_WORD_CHARS} characters`);
      }
      return { type: 'words', words: [...new Set((words as string[]).map((w) => w.trim().toLowerCase()))] };
    }
    case 'moderator':
      if (typeof f.on !== 'boolean') refuse('BadFrame', 'on must be true or false');
      return { type: 'moderator', account: account(f.account), on: f.on as boolean };
    case 'requirePayment':
      if (typeof f.on !== 'boolean') refuse('BadFrame', 'on must be true or false');
      return { type: 'requirePayment', on: f.on as boolean };
    default:
      return refuse('BadFrame', `unknown frame type ${JSON.stringify(f.type)}`);
  }
}

/** The filtered word `text` contains (whole words, any case), or null. */
export function filteredWord(text: string, words: readonly string[]): string | null {
  if (!words.length) return null;
  const tokens = new Set(text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean));
  return words.find((w) => tokens.has(w)) ?? null;
}
