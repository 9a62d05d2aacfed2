import { defineConfig } from 'vite';

// The client lives in client/; `vite build` writes dist/, which the server serves.
export default defineConfig({
  root: 'client',
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  worker: { format: 'es' },
  server: {
    proxy: { '/ws': { target: 'ws://127.0.0.1:3000', ws: true } },
  },
});
