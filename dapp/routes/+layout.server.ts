import { chainConfig } from '$lib/config.server';

export const load = () => ({ config: chainConfig() });
