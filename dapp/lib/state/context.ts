/** The per-app state objects, passed from the root layout to every page through Svelte context. */
import { getContext, setContext } from 'svelte';
import type { ChainState } from './chain.svelte.ts';
import type { TabState } from './tab.svelte.ts';
import type { TxLog } from './tx.svelte.ts';
import type { WalletState } from './wallet.svelte.ts';

export interface AppState {
  chain: ChainState;
  wallet: WalletState;
  tx: TxLog;
  /** The viewer's tab (protocol v2), shared by the watch pages and the tab page. */
  tabs: TabState;
}

const KEY = Symbol('vilo-app');

export function setApp(app: AppState): AppState {
  return setContext(KEY, app);
}

export function app(): AppState {
  const a = getContext<AppState | undefined>(KEY);
  if (!a) throw new Error('app state missing: pages must render inside the root layout');
  return a;
}
