import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // Browser and server tests share ports and CPU: run files one at a time.
    fileParallelism: false,
  },
});
