/**
 * The worker thread of `wasmmu sweep`. Two kinds of work, told by workerData.kind:
 * - "job" (--mode per-worker): replay one configuration on its own Machine, reading the trace
 *   itself, and answer with the summary or the error. The message "stop" (Ctrl-C in the main
 *   thread) ends the replay after the current batch, partial.
 * - "group" (--mode shared-read): replay the chunks the main thread decodes and posts through
 *   the shared ring, on one Machine per configuration dealt to this worker (sweep-shared.ts).
 * Either way the compiled core may come along (workerData.core), so it is not compiled again.
 * Built as dist/sweep-worker.js; sweep.ts finds it beside its own bundle.
 */
import { parentPort, workerData } from "node:worker_threads";
import { adoptCompiledCore } from "../machine/core.js";
import { runJob, type SweepJob, type SweepReply } from "./sweep.js";
import { groupWorker, toWire, type GroupWorkerData, type ToGroup } from "./sweep-shared.js";

if (!parentPort) throw new Error("sweep-worker.js is started by `wasmmu sweep` as a worker thread");
const port = parentPort;
const data = workerData as (SweepJob & { kind?: "job"; core?: WebAssembly.Module }) | GroupWorkerData;
if (data.core !== undefined) adoptCompiledCore("release", data.core);

if (data.kind === "group") {
  const onMessage = groupWorker(data, (m) => port.postMessage(m));
  port.on("message", (m: ToGroup) => onMessage(m));
} else {
  let stop = false;
  port.on("message", (m: unknown) => { if (m === "stop") stop = true; });
  let reply: SweepReply;
  try {
    reply = { ok: true, summary: await runJob({ trace: data.trace, options: data.options }, () => stop) };
  } catch (e) {
    reply = { ok: false, ...toWire(e) };
  }
  port.postMessage(reply);
  port.close();
}
