/**
 * Swap in the browser's Origin Private File System: each slot is 4 KiB at byte offset
 * slot × 4096 of one OPFS file. OPFS's synchronous access handle (createSyncAccessHandle) exists
 * only in dedicated workers, and the kernel model runs on the page's thread, so the file is held
 * by a small worker (opfs-swap-worker) and this backend is asynchronous: each read and write is a
 * message to it and a Promise back — the model's async fault path (a swap-in fault returns `wait`,
 * reclaim leaves the page PG_writeback until its write ends), as with the Node file backend
 * (src/os/nodeswap.ts). Like that backend it is not `trusted`: SwapOps checksums every page.
 *
 * Owns: the worker and the requests in flight. A write copies its page when it is submitted, so
 * the bytes stored are the bytes SwapOps checksummed.
 */
import { WasmmuError } from "../errors.js";
import { PAGE_SIZE, type SwapBackend } from "../os/swap.js";

/** A request to the worker. `open` sizes the file; `read`/`write` move one slot; `close` releases it. */
export type OpfsSwapRequest =
  | { id: number; op: "open"; name: string; bytes: number }
  | { id: number; op: "read"; slot: number }
  | { id: number; op: "write"; slot: number; page: ArrayBuffer }
  | { id: number; op: "close" };

/** The worker's answer: the page read (for `read`), or why the request failed. */
export type OpfsSwapReply = { id: number; ok: true; page?: ArrayBuffer } | { id: number; ok: false; error: string };

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** Counts of the I/O a backend has done (shown by the playground). */
export interface OpfsSwapStats {
  reads: number;
  writes: number;
}

/** A swap area in an OPFS file. Build one with OpfsSwapBackend.open. */
export class OpfsSwapBackend implements SwapBackend {
  readonly pages: number;
  /** The OPFS file's name. */
  readonly name: string;
  readonly stats: OpfsSwapStats = { reads: 0, writes: 0 };
  private readonly worker: Worker;
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (r: OpfsSwapReply) => void }>();

  private constructor(worker: Worker, name: string, pages: number) {
    this.worker = worker;
    this.name = name;
    this.pages = pages;
    worker.onmessage = (e: MessageEvent<OpfsSwapReply>) => {
      const w = this.waiting.get(e.data.id);
      this.waiting.delete(e.data.id);
      w?.resolve(e.data);
    };
  }

  /**
   * Create (or reuse and resize) the OPFS file `name` of `bytes` and the worker holding it.
   * @param workerUrl the built opfs-swap-worker script
   * @throws WasmmuError INVALID_ARGUMENT for a size that is not whole pages (at least two); Error when OPFS refuses (no OPFS, quota)
   */
  static async open(name: string, bytes: number, workerUrl: string | URL): Promise<OpfsSwapBackend> {
    if (!Number.isSafeInteger(bytes) || bytes < 2 * PAGE_SIZE || bytes % PAGE_SIZE !== 0) {
      throw new WasmmuError("INVALID_ARGUMENT", `a swap area must be a whole number of pages, at least 8 KiB, got ${bytes}`);
    }
    const b = new OpfsSwapBackend(new Worker(workerUrl, { type: "module" }), name, bytes / PAGE_SIZE);
    const r = await b.request({ op: "open", name, bytes });
    if (!r.ok) { b.worker.terminate(); throw new Error(`OPFS swap file ${name}: ${r.error}`); }
    return b;
  }

  private request(msg: WithoutId<OpfsSwapRequest>, transfer: Transferable[] = []): Promise<OpfsSwapReply> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /** Requests answered so far (done or failed). */
  get answered(): number {
    return this.next - 1 - this.waiting.size;
  }

  /** Requests sent to the worker and not yet answered. */
  get inFlight(): number {
    return this.waiting.size;
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    const r = await this.request({ op: "read", slot: offset });
    if (!r.ok || r.page === undefined) throw new Error(`read of slot ${offset} of OPFS ${this.name} failed: ${r.ok ? "no data" : r.error}`);
    into.set(new Uint8Array(r.page));
    this.stats.reads++;
  }

  async write(offset: number, from: Uint8Array): Promise<void> {
    const page = from.slice(0, PAGE_SIZE).buffer;
    const r = await this.request({ op: "write", slot: offset, page }, [page]);
    if (!r.ok) throw new Error(`write of slot ${offset} of OPFS ${this.name} failed: ${r.error}`);
    this.stats.writes++;
  }

  /** Release the file's handle and end the worker (swapoff calls it once the area is empty). */
  async close(): Promise<void> {
    await this.request({ op: "close" });
    this.worker.terminate();
  }
}
