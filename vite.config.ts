import { defineConfig, type Plugin } from 'vite';

// The client lives in client/; `vite build` writes dist/, which the server serves.
// `vite build --mode e2ee-test` writes dist-test/: the same app plus test-only
// hooks (e.g. the plaintext control switch for the blindness audit). The
// production build compiles those hooks out entirely. The test build also gets
// a TEST_BUILD marker file: the server refuses to serve a directory with it
// unless it runs with --test-mode (server/test-build.ts).
export default defineConfig(({ mode }) => {
  const testHooks = mode === 'e2ee-test';
  return {
    root: 'client',
    define: { __E2EE_TEST_HOOKS__: JSON.stringify(testHooks) },
    plugins: testHooks ? [testBuildMarker()] : [],
    build: {
      outDir: testHooks ? '../dist-test' : '../dist',
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: true,
    },
    worker: { format: 'es' },
    server: {
      proxy: { '/ws': { target: 'ws://127.0.0.1:3000', ws: true } },
    },
  };
});

function testBuildMarker(): Plugin {
  return {
    name: 'test-build-marker',
    generateBundle() {
      const source = 'vite build --mode e2ee-test: test-only hooks, never serve to people\n';
      this.emitFile({ type: 'asset', fileName: 'TEST_BUILD', source });
    },
  };
}
