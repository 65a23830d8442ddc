/**
 * The worker that holds an OPFS swap file for OpfsSwapBackend (src/web/opfsswap.ts): it opens the
 * file's synchronous access handle (available only in dedicated workers) and answers one request
 * at a time, in order: open (size the file), read and write one 4 KiB slot, close.
 */
import type { OpfsSwapReply, OpfsSwapRequest } from "../opfsswap.js";

const PAGE = 4096;

/** The handle's part we use (lib.dom's FileSystemSyncAccessHandle; declared here for older libs). */
interface SyncHandle {
  read(buffer: Uint8Array, opts: { at: number }): number;
  write(buffer: Uint8Array, opts: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

let handle: SyncHandle | null = null;
let bytes = 0;

async function answer(m: OpfsSwapRequest): Promise<OpfsSwapReply> {
  if (m.op === "open") {
    const dir = await navigator.storage.getDirectory();
    const file = await dir.getFileHandle(m.name, { create: true });
    handle = await (file as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle();
    handle.truncate(m.bytes);
    bytes = m.bytes;
    return { id: m.id, ok: true };
  }
  if (handle === null) return { id: m.id, ok: false, error: "the swap file is not open" };
  if (m.op === "close") {
    handle.flush();
    handle.close();
    handle = null;
    return { id: m.id, ok: true };
  }
  const at = m.slot * PAGE;
  if (!Number.isSafeInteger(m.slot) || m.slot < 0 || at + PAGE > bytes) return { id: m.id, ok: false, error: `slot ${m.slot} is outside the ${bytes / PAGE}-page file` };
  if (m.op === "read") {
    const page = new Uint8Array(PAGE);
    const n = handle.read(page, { at });
    // A short read would invent zeros: refuse it (the file was truncated under the area).
    if (n !== PAGE) return { id: m.id, ok: false, error: `short read: ${n} of ${PAGE} bytes at ${at}` };
    return { id: m.id, ok: true, page: page.buffer };
  }
  const n = handle.write(new Uint8Array(m.page), { at });
  if (n !== PAGE) return { id: m.id, ok: false, error: `short write: ${n} of ${PAGE} bytes at ${at}` };
  return { id: m.id, ok: true };
}

// One request at a time, in arrival order: the sync handle is not reentrant across awaits.
let queue: Promise<unknown> = Promise.resolve();
self.onmessage = (e: MessageEvent<OpfsSwapRequest>) => {
  queue = queue.then(async () => {
    let reply: OpfsSwapReply;
    try {
      reply = await answer(e.data);
    } catch (err) {
      reply = { id: e.data.id, ok: false, error: (err as Error).message ?? String(err) };
    }
    if (reply.ok && reply.page !== undefined) self.postMessage(reply, { transfer: [reply.page] });
    else self.postMessage(reply);
  });
};
