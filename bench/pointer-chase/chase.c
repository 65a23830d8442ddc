// Pointer chase over N pages: cycles per access as the TLBs and the walk see them, for checking a
// wasmmu preset against the machine it runs on (bench/pointer-chase/README in bench/RESULTS.md).
//
//   gcc -O2 -o chase chase.c && ./chase [layout] [maxPages]
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
// The region is one MAP_NORESERVE mapping; only the pages used are touched (4 KiB pages: THP is
// asked off with MADV_NOHUGEPAGE). Output: "layout pages cycles_per_access" per line, cycles
// from RDTSC (TSC ticks: the core clock only where the two agree).
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
  // Page order[k] points to page order[k+1]; the slot of page p is at line p mod 64.
  for (size_t k = 0; k < n; k++) {
    size_t p = order[k], q = order[(k + 1) % n];
    void **slot = (void **)(base + p * stride + (p % 64) * 64);
    *slot = base + q * stride + (q % 64) * 64;
  }
  void **cur = (void **)(base + order[0] * stride + (order[0] % 64) * 64);
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
  uint64_t stride = !strcmp(layout, "32k") ? 32768ULL : !strcmp(layout, "2m") ? 2ULL << 20 : !strcmp(layout, "1g") ? 1ULL << 30
    : !strcmp(layout, "512g") ? 512ULL << 30 : 4096ULL;
  // Stay inside a 47-bit user address space (128 TiB, less what the process already uses).
  uint64_t limit = (64ULL << 40) / stride;
  if (maxPages > limit) maxPages = limit;
  size_t span = maxPages * stride;
  char *base = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) { perror("mmap"); return 1; }
  madvise(base, span, MADV_NOHUGEPAGE);
  static const size_t points[] = { 16, 32, 48, 64, 80, 96, 112, 128, 192, 256, 384, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 2560, 3072, 4096, 6144, 8192, 16384, 32768 };
  for (size_t i = 0; i < sizeof points / sizeof *points && points[i] <= maxPages; i++) {
    size_t n = points[i];
    double best = 1e30;
    for (int r = 0; r < 3; r++) { double c = chase(base, stride, n, 2000000); if (c < best) best = c; }
    printf("%s %zu %.2f\n", layout, n, best);
    fflush(stdout);
  }
  munmap(base, span);
  return 0;
}
