/**
 * Every failure the dApp shows, as one sentence a person understands. Contract errors carry the
 * sentence of the contract's own `///` doc (typechain ContractError); its fields are written into it
 * (`max` → 64, balances in tokens, chain times in UTC). Wallet refusals, fee problems and network failures get their own
 * sentences. Matching is by error `name`, so copies of a class from another bundle chunk still match.
 */
import { formatBalance, DEFAULT_TOKEN, type Token } from './money.ts';

/** Fields of contract errors that are amounts of plancks (PaymentHandler.WrongPayment). */
const BALANCE_FIELDS = new Set(['expected', 'received']);

/** Friendlier wording for the errors a viewer or creator meets most, keyed by `contract.Variant`. */
const OVERRIDES: Record<string, string> = {
  'TickStream.NoPricePlan': 'This stream has no price yet, so it cannot be watched.',
  'TickStream.BatchTooLarge': 'Too many streams or vouchers asked at once (at most `max`).',
  'TickStream.TabAlreadyOpen': 'You already have an open tab (tab `tabId`): top it up instead of opening another.',
  'TickStream.NoTab': 'This tab is not open any more (it was closed, or never opened).',
  'TickStream.TabClosing': 'This tab is closing: it takes no top-ups; open a new one once it has closed.',
  'TickStream.DisputeWindowOpen': 'The tab is still closing: what is left comes back after `endsAtMs`.',
  'TickStream.ZeroDeposit': 'Enter an amount above zero.',
  'PaymentHandler.NothingToWithdraw': 'There is nothing to withdraw yet.',
  'PaymentHandler.WrongPayment': "The amount sent is not the tier's price.",
};

interface ContractErrorLike {
  name: 'ContractError';
  contract: string;
  method: string;
  error: { type: string } & Record<string, unknown>;
  message: string;
}

function isContractError(e: unknown): e is ContractErrorLike {
  return e instanceof Error && e.name === 'ContractError' && typeof (e as { error?: unknown }).error === 'object';
}

function fieldText(key: string, value: unknown, token: Token): string {
  if (typeof value === 'bigint' && BALANCE_FIELDS.has(key)) return formatBalance(value, token, 6);
  // Chain time (ink! timestamps are milliseconds): a moment a person can read.
  if (typeof value === 'bigint' && key.endsWith('AtMs')) return new Date(Number(value)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return String(value);
}

function contractSentence(e: ContractErrorLike, token: Token): string {
  const { type, ...fields } = e.error;
  const contract = e.contract.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
  // The generated message is "<doc sentence>" or "<doc sentence> (k v, …)"; keep the sentence.
  const suffix = Object.keys(fields).length ? / \([^()]*\)$/ : /$^/;
  let sentence = OVERRIDES[`${contract}.${type}`] ?? e.message.replace(suffix, '');
  const rest: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    const text = fieldText(k, v, token);
    if (sentence.includes(`\`${k}\``)) sentence = sentence.replaceAll(`\`${k}\``, text);
    else if (!['streamId', 'viewer'].includes(k)) rest.push(`${k.replace(/AtMs$/, 'At').replace(/[A-Z]/g, (c) => ' ' + c.toLowerCase())}: ${text}`);
  }
  sentence = sentence.replace(/`([^`]+)`/g, '$1');
  return rest.length ? `${sentence.replace(/\.$/, '')} (${rest.join(', ')}).` : sentence;
}

/** The sentence to show for `e`. */
export function errorSentence(e: unknown, token: Token = DEFAULT_TOKEN): string {
  if (isContractError(e)) return contractSentence(e, token);
  const err = e instanceof Error ? e : new Error(String(e));
  const msg = err.message ?? '';
  if (/cancel|rejected by (the )?user|user rejected|denied/i.test(msg)) return 'You cancelled the request in your wallet; nothing was changed.';
  if (/Inability to pay some fees|InsufficientBalance|balance too low/i.test(msg)) return 'Your account does not have enough funds for this (amount plus transaction fee).';
  if (/Failed to fetch|NetworkError|ECONNREFUSED|WebSocket/i.test(msg)) return 'The server or the chain could not be reached; check your connection and try again.';
  if (err.name === 'ChainError' && /^the transaction was (invalid|dropped|usurped)/.test(msg)) {
    return `The chain did not accept the transaction (${msg.replace(/^the transaction was /, '')}); nothing was changed.`;
  }
  if (err.name === 'ChainError' && /StorageDepositLimitExhausted|StorageDepositNotEnoughFunds/.test((e as { code?: string }).code ?? '')) {
    return 'Your account cannot pay the storage deposit this needs.';
  }
  const sentence = msg.trim() || 'Something went wrong.';
  return /[.!?]$/.test(sentence) ? sentence[0].toUpperCase() + sentence.slice(1) : `${sentence[0].toUpperCase()}${sentence.slice(1)}.`;
}

/**
 * Whether a refused transaction was refused for its nonce: one already used (the node says "outdated",
 * chopsticks "stale"), or one a transaction waiting in the pool holds ("priority is too low"). Signed
 * again with the node's next index it can land; nothing was charged.
 */
export function isStaleNonce(e: unknown): boolean {
  return e instanceof Error && /outdated|\bstale\b|priority is too low/i.test(e.message);
}
