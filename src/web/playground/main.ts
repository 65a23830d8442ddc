/**
 * The playground page: one shell engine (src/shell/engine.ts, the same as `wasmmu shell`) behind
 * every view — the terminal, Translation, a process's memory, physical memory, the charts — and
 * the guided tours, which run commands and highlight the view that changed. Keyboard: the view
 * tabs are a tablist (←/→, Home/End), the tour's Previous/Next are buttons.
 *
 * Owns: which view is shown, the tour position, refreshing views after each command. Exposes
 * `window.wasmmuPlayground` for the end-to-end tests (run a line, check a transcript).
 */
import { Shell } from "../../shell/engine.js";
import { chartSample } from "../../shell/inspect.js";
import { parseTranscript, checkTranscript } from "../../shell/transcript.js";
import { ShellTerminal } from "./terminal.js";
import { TOURS, type Tour, type ViewId } from "./tours.js";
import { h, fillPids, renderTranslation, renderMemory, renderPhysical, renderEvents, renderTraceSummary, Charts } from "./views.js";
import { EventHistory } from "../../shell/history.js";
import { TlbsView } from "./tlbs.js";
import { WasmmuError } from "../../errors.js";
import { setSwapStore, swapRoundTrip, type SwapStore } from "./swapstore.js";
import type { OpfsSwapBackend } from "../opfsswap.js";
import type { TraceReplaySummary } from "./tracereplay.js";
import type { AccessKind } from "../../types.js";

const VIEWS: { id: ViewId; label: string }[] = [
  { id: "shell", label: "Shell" }, { id: "translation", label: "Translation" }, { id: "tlbs", label: "TLBs" }, { id: "memory", label: "Process memory" },
  { id: "physical", label: "Physical memory" }, { id: "charts", label: "Over time" }, { id: "events", label: "Events (time travel)" },
  { id: "trace", label: "Your trace" },
];

/** The shell's tick (1/USER_HZ): the step of model time while swap I/O may be in flight. */
const TICK_SECONDS = 0.01;

const $ = <T extends HTMLElement>(sel: string): T => {
  const e = document.querySelector<T>(sel);
  if (e === null) throw new Error(`missing ${sel}`);
  return e;
};

class Playground {
  shell!: Shell;
  private term!: ShellTerminal;
  private view: ViewId = "shell";
  private readonly charts = new Charts($("#charts-host"));
  private readonly tlbs = new TlbsView($("#tlbs-out"));
  private tour: Tour | null = null;
  private step = -1;
  private ticks = 0;
  private history: EventHistory | null = null;
  /** The time-travel cursor: a position among the filtered events (-1: the latest). */
  private cursor = -1;

  async boot(): Promise<void> {
    this.history?.close();
    this.shell = await Shell.create();
    this.history = new EventHistory(this.shell);
    this.cursor = -1;
    this.tlbs.reset();
    // A fresh model swaps to memory: release the old model's OPFS file and show the choice.
    if (this.opfs !== null) { void this.opfs.close(); this.opfs = null; }
    const store = document.querySelector<HTMLSelectElement>("#swap-store");
    if (store !== null) store.value = "memory";
    delete document.body.dataset.swapStore;
    this.shell.onTick = () => { if (++this.ticks % 10 === 0) this.charts.add(chartSample(this.shell)); };
    this.charts.reset();
    this.charts.add(chartSample(this.shell));
    this.showClock();
  }

  async start(): Promise<void> {
    await this.boot();
    this.term = new ShellTerminal($("#terminal"), (l) => this.run(l),
      `wasmmu playground: a Linux memory-management model on an x86-64 MMU (${this.shell.linux.totalRamPages * 4 >> 10} MiB RAM, 2 CPUs, 64 MiB swap). Type 'help'.`);
    this.buildTabs();
    this.buildTranslation();
    this.buildTours();
    $<HTMLSelectElement>("#mem-pid").addEventListener("change", () => this.refresh());
    this.buildTlbs();
    this.buildSwap();
    this.buildEvents();
    this.buildTrace();
    this.buildClock();
    this.show("shell");
    document.body.dataset.ready = "true";
  }

  private playing = false;
  private lastFrame = 0;
  private lastRefresh = 0;

  /** Play (model time passes with real time × speed), pause, step 0.1 s. */
  private buildClock(): void {
    const play = $("#play");
    play.addEventListener("click", () => this.setPlaying(!this.playing));
    $("#step").addEventListener("click", () => { this.setPlaying(false); this.pass(0.1); this.refresh(); });
    this.showClock();
  }

  setPlaying(on: boolean): void {
    this.playing = on;
    const play = $("#play");
    play.setAttribute("aria-pressed", String(on));
    play.textContent = on ? "⏸ Pause" : "▶ Play";
    if (on) {
      this.lastFrame = performance.now();
      requestAnimationFrame((t) => this.frame(t));
    }
  }

  private frame(now: number): void {
    if (!this.playing) return;
    const speed = Number($<HTMLSelectElement>("#speed").value);
    const dt = Math.min(0.1, (now - this.lastFrame) / 1000) * speed;
    this.lastFrame = now;
    this.pass(dt);
    if (now - this.lastRefresh > 200) { this.lastRefresh = now; this.refresh(); }
    requestAnimationFrame((t) => this.frame(t));
  }

  /** Let model time pass between commands; what jobs print goes to the terminal. */
  pass(seconds: number): void {
    let out = "";
    try {
      if (this.opfs === null) out = this.shell.pass(seconds);
      else {
        // Swap in OPFS completes only when this thread is free again: run tick by tick, and while
        // I/O is in flight only one tick per batch of answers, so a task waiting for a page waits
        // in real time instead of retrying within one long synchronous pass until reclaim gives up.
        for (let done = 0; done < seconds - 1e-9; done += TICK_SECONDS) {
          if (this.opfs.inFlight > 0 && this.opfs.answered === this.ioMark) break;
          this.ioMark = this.opfs.answered;
          out += this.shell.pass(Math.min(TICK_SECONDS, seconds - done));
        }
      }
    } catch (e) {
      if (!(e instanceof WasmmuError) || e.code !== "WOULD_BLOCK") throw e;
      this.setPlaying(false);
      out = `wasmmu: ${e.message}\n(swap is in browser storage: switch it back to memory in the Physical memory view)\n`;
    }
    if (out !== "") this.term.notify(out);
    this.charts.add(chartSample(this.shell));
    this.showClock();
  }

  private showClock(): void {
    $("#clock").textContent = `${this.shell.clock.seconds().toFixed(3)} s`;
  }

  /** Run a line in the shell, then refresh the views. @returns its output */
  run(line: string): string {
    let r;
    try {
      r = this.shell.run(line);
    } catch (e) {
      // With swap in browser storage the swap-in reads are asynchronous: the workloads wait for
      // them (workloads.ts); any other synchronous access that meets one is reported, not thrown.
      if (!(e instanceof WasmmuError) || e.code !== "WOULD_BLOCK") throw e;
      const msg = `wasmmu: ${e.message}\n(swap is in browser storage, whose reads are asynchronous: try again, or switch it back to memory in the Physical memory view)\n`;
      this.refresh();
      return msg;
    }
    this.charts.add(chartSample(this.shell));
    this.refresh();
    this.showClock();
    return r.output;
  }

  private buildTabs(): void {
    const list = $("#tabs");
    for (const v of VIEWS) {
      const b = h("button", { role: "tab", id: `tab-${v.id}`, "aria-controls": `view-${v.id}`, "data-view": v.id, type: "button" }, v.label);
      b.addEventListener("click", () => this.show(v.id));
      list.append(b);
    }
    list.addEventListener("keydown", (e) => {
      const i = VIEWS.findIndex((v) => v.id === this.view);
      const next = e.key === "ArrowRight" ? (i + 1) % VIEWS.length : e.key === "ArrowLeft" ? (i + VIEWS.length - 1) % VIEWS.length : e.key === "Home" ? 0 : e.key === "End" ? VIEWS.length - 1 : -1;
      if (next < 0) return;
      e.preventDefault();
      this.show(VIEWS[next].id);
      $(`#tab-${VIEWS[next].id}`).focus();
    });
  }

  /** Show a view (and optionally highlight it as the one a tour step changed). */
  show(id: ViewId, highlight = false): void {
    this.view = id;
    for (const v of VIEWS) {
      const tab = $(`#tab-${v.id}`);
      tab.setAttribute("aria-selected", String(v.id === id));
      tab.tabIndex = v.id === id ? 0 : -1;
      const panel = $(`#view-${v.id}`);
      panel.hidden = v.id !== id;
      panel.classList.toggle("highlight", highlight && v.id === id);
    }
    this.refresh();
  }

  /** Redraw the view shown, from the model now. */
  refresh(): void {
    fillPids($<HTMLSelectElement>("#mem-pid"), this.shell);
    fillPids($<HTMLSelectElement>("#tr-pid"), this.shell);
    if (this.view === "memory") renderMemory($("#mem-out"), this.shell, Number($<HTMLSelectElement>("#mem-pid").value));
    else if (this.view === "physical") renderPhysical($("#phys-out"), this.shell);
    else if (this.view === "charts") this.charts.render();
    else if (this.view === "events") this.renderEvents();
    else if (this.view === "tlbs") this.tlbs.render(this.shell, Number($<HTMLSelectElement>("#tlb-cpu").value));
  }

  private opfs: OpfsSwapBackend | null = null;
  /** OPFS answers seen when the model last ran a tick with swap I/O in flight. */
  private ioMark = -1;

  /** The swap toggle (memory | browser storage) and the round-trip test of the Physical memory view. */
  private buildSwap(): void {
    const sel = $<HTMLSelectElement>("#swap-store");
    const status = $("#swap-status");
    const test = $<HTMLButtonElement>("#swap-test");
    sel.addEventListener("change", () => {
      const store = sel.value as SwapStore;
      sel.disabled = true;
      test.disabled = true;
      status.textContent = "moving /swapfile…";
      setSwapStore(this.shell, store).then((b) => {
        this.opfs = b;
        status.textContent = b === null ? "/swapfile is held in this page's memory." : `/swapfile is held in browser storage: the OPFS file ${b.name} (${b.pages} pages). Its I/O is asynchronous: a workload waiting for a page sits out its turns until it arrives (under heavy writeback, as thrash makes, reclaim may give up first and kill the task).`;
        document.body.dataset.swapStore = store;
      }).catch((e: unknown) => {
        status.textContent = `could not move /swapfile: ${(e as Error).message}`;
        sel.value = document.body.dataset.swapStore ?? "memory";
      }).finally(() => { sel.disabled = false; test.disabled = false; this.refresh(); });
    });
    test.addEventListener("click", () => { void this.swapTest(); });
  }

  /** Swap a test process's 64 pages out and back through the current backend; show what happened. */
  async swapTest(): Promise<void> {
    const out = $("#swap-out");
    const test = $<HTMLButtonElement>("#swap-test");
    test.disabled = true;
    out.textContent = "swapping out…";
    try {
      const io0 = this.opfs === null ? null : { ...this.opfs.stats };
      const r = await swapRoundTrip(this.shell);
      const io = this.opfs === null || io0 === null ? "" : `; OPFS file ${this.opfs.name}: ${this.opfs.stats.writes - io0.writes} page writes, ${this.opfs.stats.reads - io0.reads} page reads`;
      out.textContent = `${r.pages} pages written, then swapped: pswpout +${r.pswpout}, pswpin +${r.pswpin}; ${r.mismatches} pages read back differ${io}.`;
      out.dataset.result = JSON.stringify(r);
    } catch (e) {
      out.textContent = `swap test failed: ${(e as Error).message}`;
    } finally {
      test.disabled = false;
      this.refresh();
    }
  }

  /** The TLBs view's CPU choice: one option per CPU of the model. */
  private buildTlbs(): void {
    const sel = $<HTMLSelectElement>("#tlb-cpu");
    sel.replaceChildren(...Array.from({ length: this.shell.machine.config.cpus }, (_, i) => h("option", { value: String(i) }, `CPU ${i}`)));
    sel.addEventListener("change", () => this.refresh());
  }

  private renderEvents(): void {
    const filter = $<HTMLSelectElement>("#ev-type").value;
    const n = this.history!.list.filter((e) => filter === "all" || e.event.type === filter).length;
    const slider = $<HTMLInputElement>("#ev-slider");
    slider.max = String(Math.max(0, n - 1));
    this.cursor = renderEvents($("#ev-out"), this.history!, this.cursor, filter);
    slider.value = String(Math.max(0, this.cursor));
  }

  /** Replay bytes in the Web Worker. @returns its summary */
  replayInWorker(bytes: ArrayBuffer, name: string): Promise<TraceReplaySummary> {
    const out = $("#trace-out");
    out.replaceChildren(h("p", { role: "status" }, `replaying ${name}…`));
    const w = new Worker("replay-worker.js", { type: "module" });
    return new Promise<TraceReplaySummary>((resolve, reject) => {
      w.onmessage = (e: MessageEvent<{ ok: true; summary: TraceReplaySummary } | { ok: false; error: string }>) => {
        w.terminate();
        if (e.data.ok) { renderTraceSummary(out, $("#trace-chart"), e.data.summary); resolve(e.data.summary); } else {
          out.replaceChildren(h("p", { class: "error", role: "alert" }, e.data.error));
          reject(new Error(e.data.error));
        }
      };
      w.onerror = (e) => { w.terminate(); out.replaceChildren(h("p", { class: "error", role: "alert" }, e.message)); reject(new Error(e.message)); };
      w.postMessage({ bytes, name }, [bytes]);
    });
  }

  private buildTrace(): void {
    const run = (f: File) => { void f.arrayBuffer().then((b) => this.replayInWorker(b, f.name)).catch(() => undefined); };
    $<HTMLInputElement>("#trace-file").addEventListener("change", (e) => { const f = (e.target as HTMLInputElement).files?.[0]; if (f) run(f); });
    $("#trace-sample").addEventListener("click", () => { void fetch("qsort.lackey.gz").then((r) => r.arrayBuffer()).then((b) => this.replayInWorker(b, "qsort.lackey.gz")).catch(() => undefined); });
    const drop = $("#trace-drop");
    const zone = $("#view-trace");
    zone.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    zone.addEventListener("dragleave", () => drop.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      const f = e.dataTransfer?.files[0];
      if (f) run(f);
    });
  }

  private buildEvents(): void {
    const move = (to: number) => { this.cursor = Math.max(0, to); this.renderEvents(); };
    $("#ev-prev").addEventListener("click", () => move(this.cursor - 1));
    $("#ev-next").addEventListener("click", () => move(this.cursor + 1));
    $("#ev-first").addEventListener("click", () => move(0));
    $("#ev-last").addEventListener("click", () => { this.cursor = -1; this.renderEvents(); });
    $<HTMLInputElement>("#ev-slider").addEventListener("input", (e) => move(Number((e.target as HTMLInputElement).value)));
    $<HTMLSelectElement>("#ev-type").addEventListener("change", () => { this.cursor = -1; this.renderEvents(); });
  }

  private buildTranslation(): void {
    $("#tr-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.translate();
    });
  }

  private translate(): void {
    const pid = Number($<HTMLSelectElement>("#tr-pid").value);
    const kind = $<HTMLSelectElement>("#tr-kind").value as AccessKind;
    const cpl = Number($<HTMLSelectElement>("#tr-cpl").value) as 0 | 3;
    renderTranslation($("#tr-out"), this.shell, pid, $<HTMLInputElement>("#tr-va").value, kind, cpl);
  }

  private buildTours(): void {
    const sel = $<HTMLSelectElement>("#tour-select");
    sel.replaceChildren(...TOURS.map((t) => h("option", { value: t.id }, t.title)));
    $("#tour-start").addEventListener("click", () => { void this.startTour(sel.value); });
    $("#tour-next").addEventListener("click", () => this.goStep(this.step + 1));
    $("#tour-prev").addEventListener("click", () => this.goStep(this.step - 1));
  }

  /** Begin a tour in a freshly booted model (so its pids are the ones its text names). */
  async startTour(id: string): Promise<void> {
    const t = TOURS.find((x) => x.id === id);
    if (t === undefined) return;
    await this.boot();
    this.term.term.write(`\r\n\x1b[33m-- tour: ${t.title} (a fresh model) --\x1b[0m\r\n`);
    this.tour = t;
    this.step = -1;
    this.goStep(0);
    $("#tour-next").focus();
  }

  /** Show step `i` of the tour: its text, its commands' output, its view highlighted. Going back replays from the start. */
  private goStep(i: number): void {
    const t = this.tour;
    if (t === null || i < 0 || i >= t.steps.length) return;
    if (i < this.step) { void this.replayTo(i); return; }
    for (let k = this.step + 1; k <= i; k++) this.runStep(k, k === i);
  }

  private async replayTo(i: number): Promise<void> {
    await this.boot();
    this.step = -1;
    for (let k = 0; k <= i; k++) this.runStep(k, k === i);
  }

  private runStep(k: number, shown: boolean): void {
    const t = this.tour!;
    const s = t.steps[k];
    this.step = k;
    let out = "";
    for (const c of s.commands) out += `# ${c}\n${this.term.type(c)}`;
    if (!shown) return;
    $("#tour-title").textContent = `${t.title} — step ${k + 1} of ${t.steps.length}: ${s.title}`;
    $("#tour-text").textContent = s.text;
    $("#tour-output").textContent = out;
    $<HTMLButtonElement>("#tour-prev").disabled = k === 0;
    $<HTMLButtonElement>("#tour-next").disabled = k === t.steps.length - 1;
    if (s.pid !== undefined) fillPids($<HTMLSelectElement>("#mem-pid"), this.shell, s.pid);
    if (s.translate !== undefined) {
      fillPids($<HTMLSelectElement>("#tr-pid"), this.shell, s.translate.pid);
      $<HTMLInputElement>("#tr-va").value = s.translate.va;
      $<HTMLSelectElement>("#tr-kind").value = s.translate.kind;
      $<HTMLSelectElement>("#tr-cpl").value = String(s.translate.cpl);
    }
    this.show(s.view, true);
    if (s.translate !== undefined) this.translate();
  }
}

const app = new Playground();

/** What the end-to-end tests call. */
interface PlaygroundApi {
  run(line: string): string;
  replaySample(): Promise<TraceReplaySummary>;
  checkTranscript(text: string): Promise<{ line: number; command: string; expected: string[]; actual: string[] }[]>;
  samples(): number;
}
const api: PlaygroundApi = {
  run: (l) => app.run(l),
  replaySample: async () => app.replayInWorker(await (await fetch("qsort.lackey.gz")).arrayBuffer(), "qsort.lackey.gz"),
  samples: () => (app as unknown as { charts: Charts }).charts.count,
  async checkTranscript(text) {
    const t = parseTranscript(text);
    const sh = await Shell.create(t.options);
    return checkTranscript(t, (l) => sh.run(l).output).map((m) => ({ line: m.step.line, command: m.step.command, expected: m.step.expected, actual: m.actual }));
  },
};
(window as unknown as { wasmmuPlayground: PlaygroundApi }).wasmmuPlayground = api;
void app.start();
