/** `wasmmu serve [--port N] [--host H]`: serve the playground (dist/playground) and print its URL. */
import { existsSync } from "node:fs";
import { commandWithOptions, packageRoot, type Command } from "../command.js";
import { EXIT_OK } from "../exit.js";
import { UsageError } from "../args.js";
import { WasmmuError } from "../../errors.js";
import { serveStatic } from "../serve.js";

const HELP = `Usage: wasmmu serve [options]

Serves the playground — a page with the kernel model's shell (xterm.js), the Translation view
(TLB lookup and page walk), a process's memory, physical memory, charts over model time and
guided tours — from this package's dist/playground, and prints its URL. Everything runs in the
page; the server only hands out files. Ctrl-C stops it.

Options:
  --port N    port (default 8080; 0 picks a free one)
  --host H    address to listen on (default 127.0.0.1)`;

/** `wasmmu serve`. */
export const serveCommand: Command = commandWithOptions({
  name: "serve",
  synopsis: "[--port N] [--host H]",
  summary: "serve the playground page locally and print its URL",
  help: HELP,
}, { port: { type: "string" }, host: { type: "string" } }, async (values, positionals, io) => {
  if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got ${positionals.join(" ")}`);
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got ${values.port}`);
  const dir = `${packageRoot()}/dist/playground`;
  if (!existsSync(`${dir}/index.html`)) throw new WasmmuError("BAD_INPUT", `${dir}/index.html is missing: build the package first (npm run build)`);
  const s = await serveStatic(dir, port, values.host ?? "127.0.0.1").catch((e: NodeJS.ErrnoException) => {
    throw new WasmmuError("BAD_INPUT", `cannot listen on ${values.host ?? "127.0.0.1"}:${port}: ${e.code ?? e.message}`);
  });
  io.out(`wasmmu playground: ${s.url}  (Ctrl-C stops the server)`);
  await new Promise<void>((resolve) => {
    const stop = () => { void s.close().then(resolve); };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return EXIT_OK;
});
