/**
 * The playground's trace replay, off the page's thread: receives { bytes, name }, answers
 * { ok: true, summary } or { ok: false, error }.
 */
import { replayTraceBytes } from "./tracereplay.js";

self.onmessage = async (e: MessageEvent<{ bytes: ArrayBuffer; name: string }>) => {
  try {
    const summary = await replayTraceBytes(new Uint8Array(e.data.bytes), e.data.name);
    self.postMessage({ ok: true, summary });
  } catch (err) {
    self.postMessage({ ok: false, error: (err as Error).message ?? String(err) });
  }
};
