/**
 * Running a sweep's configurations (the machinery of `wasmmu sweep`, commands/sweep.ts: one trace
 * replayed under many configurations, in parallel).
 *
 * Two modes (--mode), measured in bench/RESULTS.md (issue #5):
 * - shared-read (default): one reader here, every decoded chunk replayed by every configuration
 *   (sweep-shared.ts), the configurations dealt among --jobs worker threads. Decoding, the larger
 *   cost for compressed Lackey text, is paid once instead of once per configuration.
 * - per-worker: each configuration runs in its own worker thread, which opens, decompresses and
 *   decodes the trace itself and replays it on its own Machine; at most --jobs workers at once.
 * Workers run src/cli/sweep-worker.ts, built as dist/sweep-worker.js beside the CLI. When that
 * file is not there (running from src/ under vitest, where it is TypeScript) or --in-process is
 * given, the configurations run in this thread instead: same code, same numbers.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { replayInput, AUTO_RAM, type JobOptions } from "./replay.js";
import type { OpenedTrace } from "../trace/open.js";
import type { ReplaySummary } from "./summary.js";
import { compiledCore } from "../machine/core.js";
import { fromWire, sharedReadInThread, sharedReadInWorkers, type WireError } from "./sweep-shared.js";

export type { JobOptions };

/** What a worker is given: one configuration of one trace. */
export interface SweepJob {
  trace: string;
  options: JobOptions;
}

/** What a per-worker worker answers. */
export type SweepReply = { ok: true; summary: ReplaySummary } | ({ ok: false } & WireError);

/** How the configurations get the trace's records (see the file header). */
export type SweepMode = "shared-read" | "per-worker";
export const SWEEP_MODES: readonly SweepMode[] = ["shared-read", "per-worker"];

/** Replay one configuration (in a worker, or here). */
export function runJob(job: SweepJob, interrupted: () => boolean): Promise<ReplaySummary> {
  return replayInput([job.trace], { ...job.options, progress: false, interrupted, err: () => undefined });
}

/** dist/sweep-worker.js beside the bundle that holds this code, or null when it is not there. */
export function defaultWorkerUrl(): URL | null {
  if (import.meta.url.endsWith(".ts")) return null;
  const url = new URL("./sweep-worker.js", import.meta.url);
  try {
    return existsSync(fileURLToPath(url)) ? url : null;
  } catch {
    return null;
  }
}

export interface RunOptions {
  /** Default shared-read: one reader for all configurations; per-worker: each reads the trace. */
  mode?: SweepMode;
  /** Worker threads at once (workers only). */
  jobs: number;
  /** The worker entry; null runs everything in this thread, one after another. */
  worker: URL | null;
  /** Called with each configuration's index as it finishes. */
  onDone?: (index: number, summary: ReplaySummary) => void;
  /** shared-read: the trace already opened (sweep-shared.ts's openShared), e.g. standard input, which opens once. */
  opened?: OpenedTrace;
}

/** Starts and stops a sweep's configurations. */
export class SweepRunner {
  private stopped = false;
  private readonly live = new Set<Worker>();

  /** Ask the running configurations to stop after their current batch; start no more. */
  stop(): void {
    this.stopped = true;
    for (const w of this.live) w.postMessage("stop");
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Run every job. @returns the summaries in the jobs' order; undefined for jobs never started
   * (after stop()). The first failure terminates the other workers and is thrown.
   */
  async run(jobs: SweepJob[], o: RunOptions): Promise<(ReplaySummary | undefined)[]> {
    const results: (ReplaySummary | undefined)[] = new Array(jobs.length).fill(undefined);
    if ((o.mode ?? "shared-read") === "shared-read" && jobs.length > 0) {
      const options = jobs.map((j) => j.options);
      const { summaries, retry } = o.worker === null
        ? await sharedReadInThread(jobs[0].trace, options, () => this.stopped, o.opened)
        : await sharedReadInWorkers(o.worker, jobs[0].trace, options, o.jobs, () => this.stopped,
          (indices, s) => indices.forEach((i, k) => o.onDone?.(i, s[k])), o.opened);
      // --ram not given and 1 GiB was too little: those configurations again, with more (as
      // replayInput does); standard input cannot be read again, so those stay partial.
      for (const [i, ramChosen] of retry.entries()) {
        if (ramChosen === null || this.stopped || jobs[i].trace === "-") continue;
        const job = jobs[i];
        summaries[i] = await runJob({ trace: job.trace, options: { ...job.options, ram: AUTO_RAM, memory: "tables-only", ramChosen } }, () => this.stopped);
      }
      if (o.worker === null) summaries.forEach((s, i) => o.onDone?.(i, s));
      return summaries;
    }
    const core = o.worker === null ? undefined : compiledCore("release");
    let next = 0;
    let failure: { error: unknown } | null = null;
    const one = (job: SweepJob) => (o.worker === null ? runJob(job, () => this.stopped) : this.inWorker(o.worker, job, core));
    const lane = async () => {
      while (next < jobs.length && failure === null && !this.stopped) {
        const i = next++;
        try {
          const s = await one(jobs[i]);
          results[i] = s;
          o.onDone?.(i, s);
        } catch (e) {
          if (failure === null) failure = { error: e };
          for (const w of this.live) void w.terminate();
        }
      }
    };
    const lanes = o.worker === null ? 1 : Math.max(1, Math.min(o.jobs, jobs.length));
    await Promise.all(Array.from({ length: lanes }, lane));
    if (failure !== null) throw (failure as { error: unknown }).error;
    return results;
  }

  private async inWorker(url: URL, job: SweepJob, compiled?: Promise<WebAssembly.Module>): Promise<ReplaySummary> {
    const core = await compiled;
    return new Promise((resolve, reject) => {
      const w = new Worker(url, { workerData: { kind: "job", ...job, core } });
      this.live.add(w);
      if (this.stopped) w.postMessage("stop");
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        this.live.delete(w);
        f();
      };
      w.on("message", (r: SweepReply) => settle(() => {
        if (r.ok) resolve(r.summary);
        else reject(fromWire(r));
      }));
      w.on("error", (e) => settle(() => reject(e)));
      w.on("exit", (code) => settle(() => reject(new Error(`a sweep worker stopped (exit code ${code}) before answering`))));
    });
  }
}
