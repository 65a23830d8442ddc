// Where the guest kernel puts the chase's pages: the guest-physical frame of each page of a
// chase.c layout (first touched in the chase's random order, as chase.c does), read from
// /proc/self/pagemap (needs root: unprivileged readers get zero frame numbers). compare.mjs's
// --frames scattered follows from what this prints on an EPYC 9004 KVM guest.
//
//   gcc -O2 -o frames frames.c && sudo ./frames [layout] [pages]...
//
// Per layout and page count: the span of the frames, how many consecutive pages got adjacent
// frames, the distinct 64-byte lines of EPT PTEs the final translations read (8 frames a line),
// and the distinct 2 MiB guest-physical regions (EPT PDEs).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static int cmp(const void *a, const void *b) { uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b; return x < y ? -1 : x > y; }

static int one(const char *layout, uint64_t stride, size_t n) {
  char *base = mmap(NULL, n * stride, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) { perror("mmap"); return 1; }
  madvise(base, n * stride, MADV_NOHUGEPAGE);
  size_t *order = malloc(n * sizeof *order);
  uint64_t *pfn = malloc(n * sizeof *pfn);
  for (size_t i = 0; i < n; i++) order[i] = i;
  for (size_t i = n - 1; i > 0; i--) { size_t j = next() % (i + 1); size_t t = order[i]; order[i] = order[j]; order[j] = t; }
  for (size_t k = 0; k < n; k++) *(volatile char *)(base + order[k] * stride + (order[k] % 64) * 64) = 1;
  int fd = open("/proc/self/pagemap", O_RDONLY);
  if (fd < 0) { perror("pagemap"); return 1; }
  for (size_t i = 0; i < n; i++) {
    uint64_t e = 0;
    if (pread(fd, &e, 8, (off_t)(((uintptr_t)(base + i * stride) >> 12) * 8)) != 8) { perror("pread"); return 1; }
    pfn[i] = e & ((1ULL << 55) - 1);
  }
  close(fd);
  size_t adjacent = 0;
  for (size_t i = 1; i < n; i++) adjacent += pfn[i] == pfn[i - 1] + 1;
  qsort(pfn, n, sizeof *pfn, cmp);
  if (pfn[n - 1] == 0) { fprintf(stderr, "frame numbers read as 0: run as root\n"); return 1; }
  size_t lines = 0, regions = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || pfn[i] >> 3 != pfn[i - 1] >> 3) lines++;
    if (i == 0 || pfn[i] >> 9 != pfn[i - 1] >> 9) regions++;
  }
  printf("%s %zu span_mib %.1f adjacent %zu ept_pte_lines %zu per_page %.2f ept_pde_regions %zu\n", layout, n,
         (double)(pfn[n - 1] - pfn[0]) * 4096.0 / 1048576.0, adjacent, lines, (double)lines / (double)n, regions);
  munmap(base, n * stride);
  free(order);
  free(pfn);
  return 0;
}

int main(int argc, char **argv) {
  const char *layout = argc > 1 ? argv[1] : "4k";
  uint64_t stride = !strcmp(layout, "32k") ? 32768ULL : !strcmp(layout, "2m") ? 2ULL << 20 : !strcmp(layout, "1g") ? 1ULL << 30
    : !strcmp(layout, "512g") ? 512ULL << 30 : 4096ULL;
  if (argc <= 2) return one(layout, stride, 4096);
  for (int i = 2; i < argc; i++) if (one(layout, stride, strtoul(argv[i], 0, 10))) return 1;
  return 0;
}
