/** `wasmmu record` — being written; until then it refuses with a usage error. */
import { UsageError } from "./args.js";

export const HELP_RECORD = "Usage: wasmmu record …  (not available yet)";

export async function cmdRecord(_args: string[], _out: (s: string) => void, _err: (s: string) => void): Promise<number> {
  throw new UsageError("wasmmu record is not available yet");
}
