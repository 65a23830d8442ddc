/** `wasmmu convert` — being written; until then it refuses with a usage error. */
import { UsageError } from "./args.js";

export const HELP_CONVERT = "Usage: wasmmu convert …  (not available yet)";

export async function cmdConvert(_args: string[], _out: (s: string) => void, _err: (s: string) => void): Promise<number> {
  throw new UsageError("wasmmu convert is not available yet");
}
