import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The dashboard is served by Vigil itself under a strict CSP (script-src 'self', no inline
 * code), so the build must emit only external scripts and stylesheets: Vite's CSS is
 * extracted to files and nothing is inlined as a data: script.
 */
export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: `${root}/dist`,
    emptyOutDir: true,
    assetsDir: 'assets',
    // Fonts or images inlined as data: URLs would need a looser policy; keep every asset a file.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 600,
  },
});
