/**
 * The worker thread of `wasmmu sweep`: replays one configuration (workerData: a SweepJob) on its
 * own Machine, reading the trace itself, and answers with the summary or the error. The message
 * "stop" (Ctrl-C in the main thread) ends the replay after the current batch, partial.
 * Built as dist/sweep-worker.js; sweep.ts finds it beside its own bundle.
 */
import { parentPort, workerData } from "node:worker_threads";
import { WasmmuError } from "../errors.js";
import { runJob, type SweepJob, type SweepReply } from "./sweep.js";

if (!parentPort) throw new Error("sweep-worker.js is started by `wasmmu sweep` as a worker thread");
const port = parentPort;
let stop = false;
port.on("message", (m: unknown) => { if (m === "stop") stop = true; });
let reply: SweepReply;
try {
  reply = { ok: true, summary: await runJob(workerData as SweepJob, () => stop) };
} catch (e) {
  const error = e as Error;
  reply = { ok: false, code: e instanceof WasmmuError ? e.code : null, message: error?.message ?? String(e), ...(error?.stack ? { stack: error.stack } : {}) };
}
port.postMessage(reply);
port.close();
