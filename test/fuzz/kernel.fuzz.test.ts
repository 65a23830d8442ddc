/**
 * Fuzzing the kernel model (issue #12), over src/: random system-call sequences with arguments at
 * Linux's edges, guest accesses, forks, exits, kills, swapon/swapoff and MADV_PAGEOUT on machines
 * small enough that reclaim and swap run all the time. Each step: a value or an Errno, never an
 * exception, and checkInvariants holds; at the end, no frame, table or swap slot is left. The
 * target is the campaign's (scripts/fuzz/lib/kernel.mjs, run longer with `npm run fuzz -- --only
 * kernel`); a failure names the case, which `npm run fuzz -- --seed S --only kernel --case I`
 * replays over dist/.
 */
import { describe, it } from "vitest";
import * as lib from "../../src/index.js";
import { caseSeed, makeRng } from "../../scripts/fuzz/lib/rng.mjs";
import { kernelTarget } from "../../scripts/fuzz/lib/kernel.mjs";

const SEED = 20261207;
const CASES = 150;

describe("kernel model under random system calls (issue #12)", () => {
  it(`${CASES} cases, seed ${SEED}: no exception, invariants after every step, nothing leaked`, async () => {
    const t = kernelTarget(lib as unknown as Record<string, unknown>);
    for (let i = 0; i < CASES; i++) {
      try {
        await t.run(makeRng(caseSeed(SEED, t.name, i)), i);
      } catch (e) {
        throw new Error(`case ${i} (npm run fuzz -- --seed ${SEED} --only kernel --case ${i}): ${(e as Error).message}`, { cause: e });
      }
    }
  }, 300_000);
});
