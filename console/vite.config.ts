import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console is built into console/dist and served by Gatehouse at /console/ (src/http/routes/console.ts).
// No inline script or style may end up in the output: the page runs under a strict Content-Security-Policy.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false }, // the polyfill is an inline script
    assetsInlineLimit: 0, // no data: URLs
    reportCompressedSize: false,
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
