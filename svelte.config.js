import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter(),
    // The app's source lives in dapp/ (routes in dapp/routes, shared code in dapp/lib).
    files: { src: 'dapp', assets: 'dapp/static' },
    alias: { $typechain: 'typechain' },
  },
};
