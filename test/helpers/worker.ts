/**
 * Worker entries for tests: src/ holds TypeScript, which a worker thread cannot load, so a test
 * that needs dist/'s decompression or sweep worker bundles the entry with esbuild as the build
 * does. The bundle lives inside the repository so that its bare imports (fzstd, xz-decompress)
 * resolve from node_modules.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "../..");

/** A bundled worker entry and a way to delete it. */
export interface BundledWorker {
  url: URL;
  dispose(): void;
}

/**
 * Bundle `entry` (a path under src/, e.g. "src/trace/decompress-worker.ts") into a fresh folder.
 * @returns its file URL, for `new Worker` or setDecompressWorker
 */
export async function bundleWorker(entry: string): Promise<BundledWorker> {
  mkdirSync(join(ROOT, "node_modules/.cache"), { recursive: true });
  const name = entry.replace(/^.*\//, "").replace(/\.ts$/, "");
  const dir = mkdtempSync(join(ROOT, `node_modules/.cache/wasmmu-${name}-`));
  await build({
    entryPoints: [join(ROOT, entry)], outfile: join(dir, `${name}.mjs`), bundle: true,
    format: "esm", platform: "node", target: "es2022", packages: "external", logLevel: "warning",
  });
  return { url: pathToFileURL(join(dir, `${name}.mjs`)), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
