/** Where the browser finds the chain and the contracts (sent by the server layout). */
export interface ChainConfig {
  chainUrl: string;
  contracts: Record<string, string>;
}
