// Pointer chase over N pages: cycles per access as the TLBs and the walk see them, for checking a
// wasmmu preset against the machine it runs on (bench/pointer-chase/README in bench/RESULTS.md).
//
//   gcc -O2 -o chase chase.c && ./chase [layout] [maxPages] [reps]
//
// One 8-byte load per page, pages visited in a random cyclic order (so neither the prefetchers
// nor the page walker's locality help), each page's load at a different cache line (page i uses
// line i mod 64) so the data lines do not all compete for one L1D set. Layouts, the distance
// between consecutive pages of the set:
//   4k     consecutive 4 KiB pages
//   32k    one page per 32 KiB     (each page its own PTE line)
//   2m     one page per 2 MiB      (each page its own page table)
//   1g     one page per 1 GiB      (each page its own page directory)
//   512g   one page per 512 GiB    (each page its own PDPT)
//   line    consecutive 64-byte lines, one load per line (N counts lines, not pages): the data
//           caches' latencies with few pages (4 MiB of lines is 1024 pages, STLB hits), e.g.
//           `./chase line 262144`: past 512 lines the L2, past 16384 mostly the L3
//   4k-thp  consecutive 4 KiB pages inside transparent huge pages (MADV_HUGEPAGE, 2 MiB-aligned):
//           the guest maps 2 MiB pages, so its knees show the host's page size under a VM (a TLB
//           entry covers at most the host page: 4 KiB host pages give the 4k curve's L1 knee at
//           ~72 pages, 2 MiB or larger host pages push it to ~72 x 512)
// The region is one MAP_NORESERVE mapping; only the pages used are touched (4 KiB pages: THP is
// asked off with MADV_NOHUGEPAGE). Each point is the best of `reps` runs (default 7) of
// max(100000, 8N) loads after a warm-up of 2N, short enough that a quiet time slice holds one on
// a shared machine. Output: "layout pages cycles_per_access" per line, cycles from RDTSC (TSC
// ticks: the core clock only where the two agree).
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <x86intrin.h>

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static double chase(char *base, uint64_t stride, size_t n, size_t loads) {
  size_t *order = malloc(n * sizeof *order);
  for (size_t i = 0; i < n; i++) order[i] = i;
  for (size_t i = n - 1; i > 0; i--) { size_t j = next() % (i + 1); size_t t = order[i]; order[i] = order[j]; order[j] = t; }
  // Page order[k] points to page order[k+1]; the slot of page p is at line p mod 64 (layout
  // "line": the element p is line p itself).
  for (size_t k = 0; k < n; k++) {
    size_t p = order[k], q = order[(k + 1) % n];
    void **slot = (void **)(base + p * stride + (stride >= 4096 ? (p % 64) * 64 : 0));
    *slot = base + q * stride + (stride >= 4096 ? (q % 64) * 64 : 0);
  }
  void **cur = (void **)(base + order[0] * stride + (stride >= 4096 ? (order[0] % 64) * 64 : 0));
  for (size_t i = 0; i < 2 * n; i++) cur = (void **)*cur;   // warm: TLBs and caches as steady as they get
  uint64_t t0 = __rdtsc();
  for (size_t i = 0; i < loads; i++) cur = (void **)*cur;
  uint64_t t1 = __rdtsc();
  if (cur == NULL) puts("");   // keep the chain live
  free(order);
  return (double)(t1 - t0) / (double)loads;
}

int main(int argc, char **argv) {
  const char *layout = argc > 1 ? argv[1] : "4k";
  size_t maxPages = argc > 2 ? strtoul(argv[2], 0, 10) : 8192;
  int reps = argc > 3 ? atoi(argv[3]) : 7;
  int thp = !strcmp(layout, "4k-thp");
  uint64_t stride = !strcmp(layout, "32k") ? 32768ULL : !strcmp(layout, "2m") ? 2ULL << 20 : !strcmp(layout, "1g") ? 1ULL << 30
    : !strcmp(layout, "512g") ? 512ULL << 30 : !strcmp(layout, "line") ? 64ULL : 4096ULL;
  // Stay inside a 47-bit user address space (128 TiB, less what the process already uses).
  uint64_t limit = (64ULL << 40) / stride;
  if (maxPages > limit) maxPages = limit;
  size_t span = maxPages * stride + (thp ? 2ULL << 20 : 0);
  char *map = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) { perror("mmap"); return 1; }
  char *base = map;
  if (thp) {
    base = (char *)(((uintptr_t)map + (2ULL << 20) - 1) & ~((2ULL << 20) - 1));
    if (madvise(base, maxPages * stride, MADV_HUGEPAGE)) { perror("madvise"); return 1; }
  } else {
    madvise(base, span, MADV_NOHUGEPAGE);
  }
  static const size_t points[] = { 16, 32, 48, 64, 80, 96, 112, 128, 192, 256, 384, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 2560, 2816, 3072, 3328, 3584, 3840, 4096, 6144, 8192, 16384, 32768, 65536, 131072, 262144 };
  for (size_t i = 0; i < sizeof points / sizeof *points && points[i] <= maxPages; i++) {
    size_t n = points[i];
    double best = 1e30;
    size_t loads = n * 8 > 100000 ? n * 8 : 100000;
    for (int r = 0; r < reps; r++) { double c = chase(base, stride, n, loads); if (c < best) best = c; }
    printf("%s %zu %.2f\n", layout, n, best);
    fflush(stdout);
  }
  if (thp) {   // whether the kernel gave huge pages (smaps_rollup's AnonHugePages), on stderr
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) if (!strncmp(line, "AnonHugePages:", 14)) fprintf(stderr, "%s", line);
    if (f) fclose(f);
  }
  munmap(map, span);
  return 0;
}
