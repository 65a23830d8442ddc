/**
 * The playground in a real browser: Debian's Chromium driven by playwright-core, headless, the
 * page served by `wasmmu serve`'s server from dist/playground, every other request blocked (no
 * network). Each view and tour is checked on what a person sees — text, walk entries, page cells,
 * frame counts, chart sizes, key pixels — and one tour is driven with the keyboard only. The
 * shell's transcripts run in the page too. Skips, saying why, without Chromium or a built dist/.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { serveStatic, type StaticServer } from "../../src/cli/serve.js";
import { TOURS } from "../../src/web/playground/tours.js";
import { replayTraceBytes } from "../../src/web/playground/tracereplay.js";
import { PRESETS } from "../../src/machine/presets/index.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const DIST = join(ROOT, "dist/playground");
const why = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`
  : !existsSync(join(DIST, "index.html")) ? "dist/playground is not built (npm run build)" : null;
if (why !== null) console.warn(`playground e2e tests skipped: ${why}`);

interface Summary { accesses: number; accessesPerSecond: number; counters: Record<string, number>; series: { at: number[] } }
interface Api { run(l: string): string; samples(): number; checkTranscript(t: string): Promise<unknown[]>; replaySample(): Promise<Summary> }

describe.skipIf(why !== null)("playground in Chromium", () => {
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  const blocked: string[] = [];
  const errors: string[] = [];

  const api = <T>(fn: (a: Api, arg: string) => T, arg = ""): Promise<T> =>
    page.evaluate(([src, a]) => (new Function("api", "arg", `return (${src})(api, arg)`))((window as unknown as { wasmmuPlayground: Api }).wasmmuPlayground, a), [fn.toString(), arg] as const) as Promise<T>;
  const text = (sel: string) => page.locator(sel).innerText();

  async function fresh(): Promise<void> {
    await page.goto(server.url);
    await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
  }

  beforeAll(async () => {
    server = await serveStatic(DIST, 0, "127.0.0.1");
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(server.url) || url.startsWith("data:")) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    page = await context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await fresh();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("loads offline: no request leaves the local server, no script error", () => {
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("Shell: typed commands print what Linux prints in the xterm.js terminal", async () => {
    await page.click("#terminal");
    await page.keyboard.type("free -h");
    await page.keyboard.press("Enter");
    await page.keyboard.type("echo $$");
    await page.keyboard.press("Enter");
    // xterm.js renders on the next animation frame: wait for the output to appear.
    await expect.poll(() => text("#terminal .xterm-rows"), { timeout: 5000 }).toMatch(/echo \$\$\s+2\s/);
    const rows = await text("#terminal .xterm-rows");
    expect(rows).toMatch(/Mem:\s+63Mi\s+\d/);
    expect(rows).toMatch(/Swap:\s+63Mi\s+0B\s+63Mi/);
  }, 60_000);

  it("Translation: the walk entry by entry with Linux and Intel names, a fault's error code, then a TLB hit", async () => {
    await page.click("#tab-translation");
    await page.selectOption("#tr-pid", "2");
    await page.fill("#tr-va", "0x555555554000");
    await page.selectOption("#tr-kind", "write");
    await page.click("#tr-go");
    const levels = await page.locator("table.walk tr.level").evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll("td")].slice(0, 2).map((c) => c.textContent).join("/")));
    expect(levels).toEqual(["pgd/PML4E", "pud/PDPTE", "pmd/PDE", "pte/PTE"]);
    expect(await text("table.walk tr[data-level=pte]")).toMatch(/P RO US A/);
    expect(await text("#tr-out .result")).toBe("#PF, error code 0x7 (protection, write, user), CR2 0x555555554000");
    // An untouched stack page: TLB and STLB miss, the PDE cached in the paging-structure cache, so
    // the walk reads only the PTE (SDM §4.10.3), which is not present: #PF.
    await page.selectOption("#tr-kind", "read");
    await page.fill("#tr-va", "0x7ffffffde000");
    await page.click("#tr-go");
    expect(await text("#tr-out .tlb-path")).toMatch(/^L1 dTLB: miss\nSTLB \(second level\): miss\npaging-structure cache: hit on PDE \(walk starts below it\)\npage walk: 1 memory references\n#PF raised$/);
    expect(await text("#tr-out .result")).toMatch(/^#PF, error code 0x4 \(not-present, user\)/);
    await page.fill("#tr-va", "0x555555554000");
    await page.click("#tr-go");
    await page.click("#tr-go");
    expect(await text("#tr-out .tlb-path")).toBe("L1 dTLB: hit");
    expect(await text("#tr-out .result")).toMatch(/^0x555555554000 → 0x[0-9a-f]+000 \(4 KiB page, WB\)$/);
  }, 60_000);

  it("Process memory: after fork the 16 pages are shared; after the child's writes they are its own", async () => {
    await api((a) => a.run("cowdemo --pages 16 --pause 1 &; sleep 0.5"));
    await page.click("#tab-memory");
    await page.selectOption("#mem-pid", "4");
    const vma = page.locator('li.vma[data-start="0x7ffff7fe7000"]');
    expect(await vma.locator(".pg.shared").count()).toBe(16);
    expect(await vma.innerText()).toMatch(/64 KiB: 0 present, 16 shared/);
    await api((a) => a.run("sleep 1"));
    expect(await vma.locator(".pg.present").count()).toBe(16);
    expect(await vma.locator(".pg.shared").count()).toBe(0);
    await api((a) => a.run("kill %1"));
  }, 60_000);

  it("Physical memory: free frames equal MemFree, buddy lists per zone, reserved frames drawn first", async () => {
    await page.click("#tab-physical");
    const memFree = Number(/MemFree:\s+(\d+)/.exec(await api((a) => a.run("grep MemFree /proc/meminfo")))![1]);
    expect(await text('[data-owner="free"]')).toBe(`free: ${memFree / 4} frames (${memFree.toLocaleString("en")} kB)`);
    expect(await page.locator("table.buddy tbody tr").evaluateAll((r) => r.map((x) => x.getAttribute("data-zone")))).toEqual(["DMA", "DMA32", "Normal"]);
    const canvas = page.locator("canvas.frames");
    const box = (await canvas.boundingBox())!;
    const [w, hgt, frames] = await canvas.evaluate((c: HTMLCanvasElement) => [c.width, c.height, Number(/^(\d+) frames/.exec(c.getAttribute("aria-label")!)![1])]);
    const legendFrames = (await page.locator(".legend.owners li").allInnerTexts()).map((t) => Number(/: (\d+) frames/.exec(t)![1]));
    expect(legendFrames.reduce((a, b) => a + b, 0)).toBe(frames); // every frame has one owner
    expect(w % 128).toBe(0); // 128 frames a row
    expect(hgt).toBe(Math.ceil(frames / 128) * (w / 128));
    expect([box.width, box.height]).toEqual([w + 2, hgt + 2]); // drawn 1:1, with the border
    // pfn 0 is reserved (the BIOS page): dark; the middle of RAM is free at boot: light; past the
    // last frame nothing is drawn.
    const px = await canvas.evaluate((c: HTMLCanvasElement) => {
      const g = c.getContext("2d")!;
      return [[1, 1], [c.width / 2 + 1, c.height / 2 + 1], [c.width - 1, c.height - 1]].map(([x, y]) => [...g.getImageData(x, y, 1, 1).data]);
    });
    expect(px[0]).toEqual([0x34, 0x3a, 0x40, 255]);
    expect(px[1]).toEqual([0xe9, 0xee, 0xf3, 255]);
    if (frames % 128 !== 0) expect(px[2]).toEqual([0, 0, 0, 0]);
    expect(await text("#phys-out figcaption")).toBe("/swapfile: 0 of 16383 slots used");
  }, 60_000);

  it("Over time: samples every 0.1 s of model time, two uPlot charts drawn to the view's width", async () => {
    const before = await api((a) => a.samples());
    await api((a) => a.run("stress --vm 1 --vm-bytes 8M --timeout 2s &; sleep 2"));
    expect(await api((a) => a.samples())).toBeGreaterThanOrEqual(before + 19);
    await page.click("#tab-charts");
    const charts = page.locator("#charts-host .uplot");
    expect(await charts.count()).toBe(2);
    for (const b of [await charts.nth(0).boundingBox(), await charts.nth(1).boundingBox()]) {
      expect(b!.width).toBeGreaterThanOrEqual(480);
      expect(b!.height).toBeGreaterThan(240);
    }
    expect(await text("#charts-host")).toMatch(/Memory \(MiB\)[\s\S]*free[\s\S]*used[\s\S]*cache[\s\S]*swap/);
  }, 60_000);

  it("Events (time travel): step back and forward through a run's faults; the tallies follow the cursor", async () => {
    await fresh();
    await api((a) => a.run("cowdemo --pages 4 --pause 1 &; sleep 2"));
    await page.click("#tab-events");
    await page.selectOption("#ev-type", "fault");
    const now = () => text("#ev-out .event-now");
    const cowCount = async () => Number(/copy-on-write copies\s+(\d+)/.exec(await text("#ev-out table.tallies"))![1]);
    expect(await now()).toMatch(/^event (\d+) of \1: #\d+ at 1\.\d+ s of model time, during `sleep 2`: pid 4 cpu \d: minor fault, write of 0x[0-9a-f]+ → cow-copy$/);
    expect(await cowCount()).toBe(4);
    for (let k = 0; k < 4; k++) await page.click("#ev-prev");
    expect(await cowCount()).toBe(0);
    expect(await now()).not.toMatch(/cow-copy$/);
    await page.click("#ev-next");
    expect(await cowCount()).toBe(1);
    expect(await now()).toMatch(/cow-copy$/);
    await page.click("#ev-first");
    expect(await now()).toMatch(/^event 1 of \d+: #\d+ at 0\.\d+ s of model time, during `sleep 2`: pid 3 cpu \d: minor fault, write of 0x[0-9a-f]+ → anon$/);
    expect(await page.locator("#ev-out ol.events li.current").count()).toBe(1);
  }, 60_000);

  it("Your trace: the bundled qsort trace replayed in a Web Worker gives Node's counts, at Node's throughput", async () => {
    await fresh();
    await page.click("#tab-trace");
    const bytes = new Uint8Array(readFileSync(join(ROOT, "examples/traces/qsort.lackey.gz")));
    // Best of three each, back to back on the same machine: the replay loop only (decoding excluded).
    const node: Summary[] = [];
    const web: Summary[] = [];
    for (let k = 0; k < 3; k++) {
      node.push(await replayTraceBytes(bytes, "qsort.lackey.gz"));
      web.push(await api((a) => a.replaySample()));
    }
    expect(web[0].accesses).toBe(1080194);
    expect(web[0].counters).toEqual({ ...node[0].counters });
    const best = (xs: Summary[]) => Math.max(...xs.map((x) => x.accessesPerSecond));
    const ratio = best(web) / best(node);
    console.log(`qsort replay: node ${(best(node) / 1e6).toFixed(2)} M/s, Chromium worker ${(best(web) / 1e6).toFixed(2)} M/s, ratio ${ratio.toFixed(2)}`);
    expect(ratio).toBeGreaterThanOrEqual(0.9);
    expect(await text('#trace-out tr[data-key="accesses"] td')).toBe("1,080,194");
    expect(await text('#trace-out tr[data-key="store walks"] td')).toBe("543");
    expect(await page.locator("#trace-chart .uplot").count()).toBe(1);
  }, 120_000);

  it("Play, Pause and Step move model time; a background job's output reaches the terminal as it runs", async () => {
    await fresh();
    const clock = async () => Number((await text("#clock")).replace(" s", ""));
    await page.click("#terminal");
    await page.keyboard.type("stress --vm 1 --vm-bytes 4M --timeout 0.5s &");
    await page.keyboard.press("Enter");
    expect(await clock()).toBe(0);
    await page.selectOption("#speed", "5");
    await page.click("#play");
    expect(await page.getAttribute("#play", "aria-pressed")).toBe("true");
    await expect.poll(() => text("#terminal .xterm-rows"), { timeout: 10_000 }).toMatch(/successful run completed in 1s[\s\S]*\[1\]\+\s+Done\s+stress --vm 1 --vm-bytes 4M --timeout 0\.5s &/);
    await page.click("#play");
    expect(await page.getAttribute("#play", "aria-pressed")).toBe("false");
    const paused = await clock();
    expect(paused).toBeGreaterThan(0.5);
    await page.waitForTimeout(300);
    expect(await clock()).toBe(paused);
    await page.click("#step");
    expect(await clock()).toBeCloseTo(paused + 0.1, 3);
  }, 60_000);

  it("TLBs: each array of CPU 0 drawn as the preset's sets × ways; a Step runs a workload and its fills light empty cells", async () => {
    await fresh();
    await page.click("#tab-tlbs");
    // The shell's machine is a Skylake: every array of the preset, then the PSCs, at 1:1 pixels.
    const sky = PRESETS.skylake;
    const grid = (a: { entries: number; ways: number }) => {
      const sets = a.entries / a.ways;
      const cols = sets === 1 ? a.ways : Math.min(sets, 128);
      const cell = Math.max(4, Math.min(16, Math.floor(768 / cols)));
      return [sets, a.ways, cols * cell, (sets === 1 ? 1 : a.ways) * cell];
    };
    const expected = [...sky.itlb, ...sky.dtlb, ...sky.stlb].map(grid);
    for (const l of ["pde", "pdpte", "pml4e"] as const) expected.push(grid({ entries: sky.psc[l], ways: sky.psc[l] }));
    const drawn = await page.locator("#tlbs-out canvas.tlb").evaluateAll((cs) => (cs as HTMLCanvasElement[]).map((c) => [Number(c.dataset.sets), Number(c.dataset.ways), c.width, c.height]));
    expect(drawn).toEqual(expected);
    expect(drawn.find((d) => d[0] === 128)).toEqual([128, 12, 768, 72]); // the 1536-entry STLB: 128 sets × 12 ways, 6 px cells
    expect(await page.locator("#tlbs-out figure").evaluateAll((f) => f.map((x) => x.getAttribute("data-array")))).toEqual([
      "L1 ITLB 4K", "L1 ITLB 2M", "L1 DTLB 4K", "L1 DTLB 2M", "L1 DTLB 1G", "STLB 4K+2M", "STLB 1G", "PSC PDE", "PSC PDPTE", "PSC PML4E"]);
    // Booting touched init's and bash's pages on CPU 0: six 4K translations in the L1 DTLB.
    expect(await text('#tlbs-out figure[data-array="L1 DTLB 4K"] .tlb-valid')).toBe("6 valid");
    expect(await text("#tlbs-out .tlb-none")).toMatch(/^No change yet/);
    const clock = async () => Number((await text("#clock")).replace(" s", ""));
    await api((a) => a.run("stress --vm 1 --vm-bytes 4M --timeout 0.5s &"));
    // Every canvas's pixels before the step, to compare a cell's colour before and after.
    await page.evaluate(() => {
      (window as unknown as { before: Record<string, number[]> }).before = Object.fromEntries([...document.querySelectorAll<HTMLCanvasElement>("#tlbs-out canvas.tlb")].map((c) =>
        [c.closest("figure")!.getAttribute("data-array")!, [...c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data]]));
    });
    const t0 = await clock();
    await page.click("#step");
    expect(await clock()).toBeCloseTo(t0 + 0.1, 3);
    const fills = page.locator("#tlbs-out table.tlb-recent tr[data-change=fill]");
    expect(await fills.count()).toBeGreaterThan(0);
    const tally = Number(/(\d+) fills/.exec(await text('#tlbs-out figure[data-array="L1 DTLB 4K"] .tlb-tally'))![1]);
    expect(tally).toBeGreaterThan(0);
    const cellColors = await fills.first().evaluate((row) => {
      const name = row.getAttribute("data-array")!;
      const set = Number(row.getAttribute("data-set"));
      const way = Number(row.getAttribute("data-way"));
      const c = document.querySelector<HTMLCanvasElement>(`#tlbs-out figure[data-array="${name}"] canvas`)!;
      const sets = Number(c.dataset.sets);
      const cell = Number(c.dataset.cell);
      const [x, y] = sets === 1 ? [way, 0] : [set % 128, Math.floor(set / 128) * (Number(c.dataset.ways) + 1) + way];
      const px = (x * cell + 1) + (y * cell + 1) * c.width;
      const before = (window as unknown as { before: Record<string, number[]> }).before[name].slice(px * 4, px * 4 + 4);
      return [before, [...c.getContext("2d")!.getImageData(x * cell + 1, y * cell + 1, 1, 1).data]];
    });
    expect(cellColors).toEqual([[0xe9, 0xee, 0xf3, 255], [0x3b, 0x82, 0xc4, 255]]); // empty, then fill
    // The next Step: that cell is no longer newly filled (valid, or a later change).
    await page.click("#step");
    expect(await clock()).toBeCloseTo(t0 + 0.2, 3);
  }, 60_000);

  it("TLBs with the keyboard only: Tab to the tabs, arrow to TLBs, Tab to the CPU choice and pick CPU 1", async () => {
    await fresh();
    for (let i = 0; i < 40 && (await page.evaluate(() => document.activeElement?.getAttribute("role"))) !== "tab"; i++) await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-shell");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-tlbs");
    expect(await page.locator("#view-tlbs").isVisible()).toBe(true);
    for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement?.id)) !== "tlb-cpu"; i++) await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tlb-cpu");
    await page.keyboard.press("ArrowDown");
    expect(await page.locator("#tlb-cpu").inputValue()).toBe("1");
    // CPU 1 has run nothing yet: every array empty.
    expect(await page.locator("#tlbs-out .tlb-valid").allInnerTexts()).toEqual(Array(10).fill("0 valid"));
  }, 60_000);

  it("Swap in browser storage (OPFS): 64 pages out to an OPFS file and back, byte for byte, with the counters shown", async () => {
    await fresh();
    await page.click("#tab-physical");
    await page.selectOption("#swap-store", "opfs");
    await page.waitForSelector("body[data-swap-store=opfs]", { timeout: 20_000 });
    expect(await text("#swap-status")).toMatch(/^\/swapfile is held in browser storage: the OPFS file wasmmu-swapfile \(16384 pages\)\. /);
    // The area is the same as before, only its storage moved: /proc/swaps and the view agree.
    expect(await api((a) => a.run("cat /proc/swaps"))).toMatch(/^\/swapfile\s+file\s+65532\s+0\s+-\d+$/m);
    expect(await text("#phys-out figcaption")).toBe("/swapfile: 0 of 16383 slots used");
    await page.click("#swap-test");
    await expect.poll(() => text("#swap-out"), { timeout: 30_000 }).toMatch(/OPFS file/);
    expect(await text("#swap-out")).toBe("64 pages written, then swapped: pswpout +64, pswpin +64; 0 pages read back differ; OPFS file wasmmu-swapfile: 64 page writes, 64 page reads.");
    // The bytes really are in the OPFS file: 64 of its slots hold the test's 64 page patterns.
    const found = await page.evaluate(async () => {
      const f = await (await (await navigator.storage.getDirectory()).getFileHandle("wasmmu-swapfile")).getFile();
      const buf = new Uint8Array(await f.arrayBuffer());
      const pattern = (i: number) => {
        const b = new Uint8Array(4096);
        let x = (i * 0x9e3779b1 + 1) >>> 0;
        for (let k = 0; k < 4096; k++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[k] = x & 0xff; }
        return b;
      };
      const matched = new Set<number>();
      for (let slot = 1; slot * 4096 < buf.length && slot < 256; slot++) {
        const s = buf.subarray(slot * 4096, slot * 4096 + 4096);
        for (let i = 0; i < 64; i++) if (!matched.has(i) && s.every((b, k) => b === pattern(i)[k])) { matched.add(i); break; }
      }
      return [f.size, matched.size];
    });
    expect(found).toEqual([64 << 20, 64]);
    // The process exited: its slots are free again.
    expect(await text("#phys-out figcaption")).toBe("/swapfile: 0 of 16383 slots used");
    // And back to memory: swapoff brings any page left back, swapon over host memory.
    await page.selectOption("#swap-store", "memory");
    await page.waitForSelector("body[data-swap-store=memory]", { timeout: 20_000 });
    expect(await text("#swap-status")).toBe("/swapfile is held in this page's memory.");
  }, 90_000);

  for (const tour of TOURS) {
    it(`tour "${tour.title}": every step shows its text, its commands' output and highlights its view`, async () => {
      await page.selectOption("#tour-select", tour.id);
      await page.click("#tour-start");
      for (let k = 0; k < tour.steps.length; k++) {
        if (k > 0) await page.click("#tour-next");
        const s = tour.steps[k];
        expect(await text("#tour-title")).toBe(`${tour.title} — step ${k + 1} of ${tour.steps.length}: ${s.title}`);
        expect(await text("#tour-text")).toBe(s.text);
        const out = await page.locator("#tour-output").textContent();
        for (const c of s.commands) expect(out).toContain(`# ${c}`);
        expect(out).not.toMatch(/command not found|No such file|no such process|Usage:/);
        expect(await page.locator(`#view-${s.view}`).isVisible()).toBe(true);
        expect(await page.locator(`#view-${s.view}`).getAttribute("class")).toContain("highlight");
      }
      expect(await page.locator("#tour-next").isDisabled()).toBe(true);
    }, 120_000);
  }

  it("a tour with the keyboard only: Tab to the tour, choose, start, Next; arrow keys move between views", async () => {
    await fresh();
    await page.keyboard.press("Tab");
    for (let i = 0; i < 40 && (await page.evaluate(() => document.activeElement?.id)) !== "tour-select"; i++) await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tour-select");
    await page.keyboard.press("ArrowDown"); // "A 4-level page walk"
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tour-start");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.id === "tour-next");
    expect(await text("#tour-title")).toMatch(/step 1 of 2: CR3 to PTE$/);
    expect(await text("#tr-out .result")).toMatch(/^0x555555554000 → /);
    await page.keyboard.press("Enter");
    expect(await text("#tour-title")).toMatch(/step 2 of 2: A write to read-only code$/);
    expect(await text("#tr-out .result")).toMatch(/^#PF, error code 0x7/);
    await page.focus("#tab-translation");
    await page.keyboard.press("ArrowRight");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-tlbs");
    expect(await page.locator("#view-tlbs").isVisible()).toBe(true);
    await page.keyboard.press("ArrowRight");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-memory");
    expect(await page.locator("#view-memory").isVisible()).toBe(true);
  }, 120_000);

  it("layout on a laptop screen: tabs in one row, tours to the right, terminal wide; key pixels", async () => {
    await fresh();
    const tabs = await page.locator("#tabs button").evaluateAll((b) => b.map((x) => x.getBoundingClientRect()).map((r) => [r.x, r.y, r.height]));
    expect(new Set(tabs.map((t) => t[1])).size).toBe(1);
    for (let i = 1; i < tabs.length; i++) expect(tabs[i][0]).toBeGreaterThan(tabs[i - 1][0]);
    const main = (await page.locator("main").boundingBox())!;
    const aside = (await page.locator("aside").boundingBox())!;
    expect(aside.x).toBeGreaterThanOrEqual(main.x + main.width);
    expect(aside.x + aside.width).toBeLessThanOrEqual(1366);
    expect((await page.locator("#terminal .xterm-screen").boundingBox())!.width).toBeGreaterThan(700);
    // Pixels of the screenshot itself, decoded by the browser's PNG decoder.
    const shot = (await page.screenshot()).toString("base64");
    const term = (await page.locator("#terminal .xterm-screen").boundingBox())!;
    const at = [[Math.round(term.x + term.width - 20), Math.round(term.y + term.height - 20)], [5, 895]];
    const rgb = await page.evaluate(async ([b64, pts]) => {
      const bmp = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const g = c.getContext("2d")!;
      g.drawImage(bmp, 0, 0);
      return (pts as number[][]).map(([x, y]) => [...g.getImageData(x, y, 1, 1).data].slice(0, 3));
    }, [shot, at] as const);
    expect(rgb).toEqual([[0x10, 0x14, 0x1a], [0xf7, 0xf9, 0xfb]]); // the terminal's background, the page's
  }, 60_000);

  it("the shell's transcripts give the same output in the page as in Node", async () => {
    const dir = join(ROOT, "test/shell/transcripts");
    for (const f of readdirSync(dir).filter((x) => x.endsWith(".txt"))) {
      const mismatches = await api((a, t) => a.checkTranscript(t), readFileSync(join(dir, f), "utf8"));
      expect(mismatches, `${f}: ${JSON.stringify(mismatches).slice(0, 1500)}`).toEqual([]);
    }
  }, 120_000);
});
