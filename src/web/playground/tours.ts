/**
 * The guided tours: one per concept of the seed articles, each a sequence of steps with a short
 * explanation, the shell commands that show it (run in a freshly booted model, so the pids are
 * the ones written here: init 1, bash 2, the first workload 3…), and the view that changed.
 *
 * Owns: the tours' text and steps.
 */

/** The views a step can point at. */
export type ViewId = "shell" | "translation" | "tlbs" | "memory" | "physical" | "charts" | "events" | "trace";

/** One step of a tour. */
export interface TourStep {
  title: string;
  text: string;
  /** Shell commands run when the step is shown. */
  commands: string[];
  /** The view to show and highlight. */
  view: ViewId;
  /** For the translation view: the access to translate. */
  translate?: { pid: number; va: string; kind: "read" | "write" | "fetch"; cpl: 0 | 3 };
  /** For the memory view: the process to show. */
  pid?: number;
}

export interface Tour {
  id: string;
  title: string;
  steps: TourStep[];
}

export const TOURS: readonly Tour[] = [
  { id: "layout", title: "The address-space layout", steps: [
    { title: "maps", text: "Each process sees its own address space: code and data of the program at the bottom (PIE base 0x555555554000), the heap above them, mappings and the vDSO near the top of user space, the stack at the very top (it grows down). /proc/PID/maps lists the VMAs.", commands: ["cat /proc/2/maps"], view: "memory", pid: 2 },
    { title: "Only touched pages are present", text: "A VMA is a promise, not memory: only the pages the process has touched have frames (green). The stack VMA is 132 KiB, but one page of it is present.", commands: ["pagemap 2"], view: "memory", pid: 2 },
  ] },
  { id: "walk", title: "A 4-level page walk", steps: [
    { title: "CR3 to PTE", text: "On a TLB miss the CPU walks the page tables from CR3: PML4E (Linux's pgd), PDPTE (pud), PDE (pmd), PTE (pte). Each entry gives the next table's frame and the rights (P, RW, US, XD); the leaf gives the page frame.", commands: ["walk 2 0x555555554000"], view: "translation", translate: { pid: 2, va: "0x555555554000", kind: "read", cpl: 3 } },
    { title: "A write to read-only code", text: "The text page's PTE has RW=0: a user write stops at the leaf with a #PF, error code 0x7 = present | write | user (SDM §4.7). Linux turns that into SIGSEGV.", commands: ["walk 2 0x555555554000 --write"], view: "translation", translate: { pid: 2, va: "0x555555554000", kind: "write", cpl: 3 } },
  ] },
  { id: "tlb", title: "The TLB", steps: [
    { title: "Miss, then hit", text: "The translation is cached in the TLBs. Translate the same address twice: the second lookup hits the L1 dTLB and needs no walk at all. Press Translate again in the view to see it.", commands: [], view: "translation", translate: { pid: 2, va: "0x555555558000", kind: "read", cpl: 3 } },
  ] },
  { id: "paging", title: "Demand paging: minor and major faults", steps: [
    { title: "Faults", text: "Two processes map one file. The first touch of a file page not in the page cache is a major fault (read from the disk); a page already cached costs only a minor fault.", commands: ["mmapshare --size 64K", "grep -E '^(pgfault|pgmajfault) ' /proc/vmstat"], view: "memory", pid: 4 },
  ] },
  { id: "cow", title: "fork and copy-on-write", steps: [
    { title: "After fork", text: "fork copies the page tables, not the pages: parent and child map the same frames, read-only. Pss (proportional set size) splits each shared page between them.", commands: ["cowdemo --pages 16 --pause 1 &", "sleep 0.5", "grep -E '^(Pss|Shared_Dirty|Private_Dirty):' /proc/4/smaps_rollup"], view: "memory", pid: 4 },
    { title: "Writes copy", text: "Each write to a shared page faults; do_wp_page copies that one page for the writer. After the child has written all 16 pages it owns 16 private copies.", commands: ["sleep 1", "grep -E '^(Pss|Shared_Dirty|Private_Dirty):' /proc/4/smaps_rollup", "pagemap 4 0x7ffff7fe7000 4"], view: "memory", pid: 4 },
    { title: "The faults, one by one", text: "Step back through the run's events: the parent's 16 anonymous faults, the fork, then the child's 16 cow-copy faults during `sleep 1`, each with its model time.", commands: [], view: "events" },
  ] },
  { id: "mmap", title: "mmap of a file shared by two processes", steps: [
    { title: "The same frames", text: "With MAP_SHARED, both processes' PTEs point at the page-cache frames of the file: the PFNs in their pagemaps are equal.", commands: ["mmapshare --size 64K", "pagemap 3 0x7ffff7fe7000 2", "pagemap 4 0x7ffff7fe7000 2"], view: "memory", pid: 3 },
  ] },
  { id: "malloc", title: "malloc: brk, then mmap", steps: [
    { title: "Growth", text: "glibc serves small requests from the heap, growing it with brk; 128 KiB and more (M_MMAP_THRESHOLD) get their own anonymous mmap.", commands: ["mallocdemo", "cat /proc/3/maps"], view: "memory", pid: 3 },
  ] },
  { id: "kmalloc", title: "kmalloc against vmalloc", steps: [
    { title: "Slab caches", text: "kmalloc hands out physically contiguous objects from slab caches (kmalloc-8 … kmalloc-8k); vmalloc maps scattered pages into a virtually contiguous kernel range.", commands: ["cat /proc/slabinfo", "grep -E '^(Slab|SUnreclaim|Vmalloc)' /proc/meminfo"], view: "physical" },
  ] },
  { id: "buddy", title: "The buddy allocator", steps: [
    { title: "Free lists per order", text: "Free memory is kept in blocks of 2^order pages, per zone. An allocation splits a larger block; a free merges buddies back. /proc/buddyinfo counts the free blocks of each order.", commands: ["cat /proc/buddyinfo"], view: "physical" },
    { title: "Memory in use", text: "A hog takes pages: the high orders are split down, and the frame map fills with anonymous pages.", commands: ["stress --vm 1 --vm-bytes 24M --timeout 1s", "cat /proc/buddyinfo"], view: "physical" },
  ] },
  { id: "swap", title: "Swap and thrashing", steps: [
    { title: "Thrashing", text: "A working set of 125% of RAM, written pass after pass: every pass evicts the pages the next needs. vmstat's si/so columns show the swap traffic; the charts show free memory pinned at the watermark and swap in use.", commands: ["thrash --passes 2 &", "vmstat 1 4", "cat /proc/swaps"], view: "charts" },
  ] },
  { id: "oom", title: "The OOM killer and oom_score_adj", steps: [
    { title: "A victim", text: "memhog grows without limit. When reclaim and swap cannot keep up, the OOM killer picks the task with the highest oom_score (its memory, adjusted by oom_score_adj) and kills it; dmesg has the report.", commands: ["memhog &", "sleep 0.3", "cat /proc/3/oom_score", "wait", "grep -E 'Killed process|oom-kill:' /dev/kmsg"], view: "shell" },
  ] },
];
