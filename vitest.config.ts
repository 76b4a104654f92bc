import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Verifications spawn real servers; a generous ceiling catches a hang without flaking on a busy machine.
    testTimeout: 40_000,
    hookTimeout: 20_000,
    // Two cores: more parallel files would only make timings noisy.
    maxWorkers: 2,
  },
});
