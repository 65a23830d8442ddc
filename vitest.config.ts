import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // The Wasm core is built by `npm test`'s pretest step (scripts/build.mjs); tests import src/ directly.
  },
});
