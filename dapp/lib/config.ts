/** Where the browser finds the chain and the contracts (sent by the server layout). */
export interface ChainConfig {
  chainUrl: string;
  contracts: Record<string, string>;
  /** Prices are also shown in this currency at a configured rate (VILO_DISPLAY_CURRENCY); no price feed. */
  displayCurrency?: DisplayCurrency | null;
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
