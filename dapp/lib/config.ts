/** Where the browser finds the chain and the contracts (sent by the server layout). */
export interface ChainConfig {
  chainUrl: string;
  contracts: Record<string, string>;
  /** Prices are also shown in this currency at a configured rate (VILO_DISPLAY_CURRENCY); no price feed. */
  displayCurrency?: DisplayCurrency | null;
  /** Where avatar images are fetched by content id (VILO_IPFS_GATEWAY, e.g. "https://ipfs.io/ipfs/"); null: drawn from the address. */
  ipfsGateway?: string | null;
}

/** A currency to show beside token amounts: ISO 4217 code and the price of one whole token in it. */
export interface DisplayCurrency {
  code: string;
  perToken: number;
}

/** Parses "USD:2.5" (one token = 2.5 USD); throws a sentence naming the setting otherwise. */
export function parseDisplayCurrency(text: string | undefined): DisplayCurrency | null {
  if (!text) return null;
  const m = /^([A-Z]{3}):([0-9]+(?:\.[0-9]+)?)$/.exec(text.trim());
  if (!m || !(Number(m[2]) > 0)) {
    throw new Error(`VILO_DISPLAY_CURRENCY must look like "USD:2.5" (an ISO currency code and the price of one token), got "${text}"`);
  }
  return { code: m[1], perToken: Number(m[2]) };
}

/** Parses an IPFS gateway's base URL (http or https; a trailing "/" is added); throws a sentence naming the setting otherwise. */
export function parseIpfsGateway(text: string | undefined): string | null {
  if (!text) return null;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`VILO_IPFS_GATEWAY must be an http(s) URL that a content id is appended to, like "https://ipfs.io/ipfs/", got "${text}"`);
  }
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

/** The image URL of a content id at `gateway`, or null when either is missing or the id is not a plain CID. */
export function ipfsUrl(gateway: string | null | undefined, cid: string | null | undefined): string | null {
  if (!gateway || !cid || !/^[A-Za-z0-9]+$/.test(cid)) return null;
  return `${gateway}${cid}`;
}
