/** `wasmmu sweep` — being written; until then it refuses with a usage error. */
import { UsageError } from "./args.js";

export const HELP_SWEEP = "Usage: wasmmu sweep …  (not available yet)";

export async function cmdSweep(_args: string[], _out: (s: string) => void, _err: (s: string) => void): Promise<number> {
  throw new UsageError("wasmmu sweep is not available yet");
}
