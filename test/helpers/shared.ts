/**
 * Where the tests find the shared data sets: ../shared/<name> beside the repository when it is
 * there (the team's live copy), else the copy vendored in test/fixtures/<name>, so that a fresh
 * clone's `npm test` runs the same checks. Neither there is an error, never a skip: a test that
 * needs the data fails to load. test/fixtures.test.ts checks the vendored copy equals ../shared
 * whenever both are present.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

/** The data sets vendored from ../shared. */
export type SharedData = "conformance" | "linux-formats";

/** The folder of `name` and where it came from. @throws Error when neither copy exists */
export function sharedData(name: SharedData): { dir: string; source: string } {
  const shared = resolve(ROOT, "../shared", name);
  if (existsSync(shared)) return { dir: shared, source: `../shared/${name}` };
  const vendored = resolve(ROOT, "test/fixtures", name);
  if (existsSync(vendored)) return { dir: vendored, source: `test/fixtures/${name}` };
  throw new Error(`the ${name} data is missing: neither ${shared} nor ${vendored} exists (test/fixtures/${name} is part of the repository)`);
}

/** The vendored copy's folder (test/fixtures/<name>), and ../shared's when it exists. */
export function bothCopies(name: SharedData): { vendored: string; shared: string | null } {
  const shared = resolve(ROOT, "../shared", name);
  return { vendored: resolve(ROOT, "test/fixtures", name), shared: existsSync(shared) ? shared : null };
}
