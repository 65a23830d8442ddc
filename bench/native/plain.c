/*
 * The plain C yardstick of bench/model.bench.mjs (issue #17): the TLB model as a researcher would
 * write it, kept deliberately straightforward — one struct per entry, a timestamp per entry for
 * true LRU, a loop over the ways, a full walk from CR3 on every miss, faults counted inline.
 * Built with gcc -O2 -march=native.
 *
 * Model: L1 DTLB 64 entries 4-way, second-level TLB 1536 entries 12-way, 4 KiB entries only
 * (a 2 MiB page is cached as the 4 KiB piece that was accessed), true LRU (invalid way first,
 * else the oldest stamp), 4-level paging in simulated physical memory, no paging-structure
 * caches. A walk sets A in every entry used and D in the leaf on a store (SDM §4.8); a store
 * through a cached entry whose D is clear walks again (the dirty-bit assist) and the walk's
 * translation replaces the entry. A not-present entry is a fault: counted and the access
 * skipped. The traces are those of bench/model.bench.mjs, from the same seeded xorshift32.
 *
 * Usage: plain <hot|rand1k|rand1m|seq|huge16g> <accesses>
 * Prints one JSON line: counters and the replay time in ns (generation untimed, per chunk).
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define P 1ull
#define RW 2ull
#define US 4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define ADDR 0x000ffffffffff000ull

typedef struct { uint64_t vpn, pfn, stamp; int valid, dirty; } entry_t;
typedef struct { int sets, ways; entry_t *e; } tlb_t;
typedef struct { uint64_t va; uint8_t size, kind; uint16_t cpu; uint32_t reserved; } rec_t;

static uint64_t *phys;
static uint64_t next_frame = 1;
static uint64_t now;
static uint64_t accesses, l1_hit, stlb_hit, walks, faults, dirty_assists;

static uint64_t alloc_table(void) { return (next_frame++) << 12; }

static void map(uint64_t va, int level, uint64_t leaf) {
  uint64_t table = 0;
  for (int l = 4; l > level; l--) {
    uint64_t *e = &phys[(table >> 3) + ((va >> (12 + 9 * (l - 1))) & 511)];
    if (!(*e & P)) *e = alloc_table() | P | RW | US;
    table = *e & ADDR;
  }
  phys[(table >> 3) + ((va >> (12 + 9 * (level - 1))) & 511)] = leaf;
}

static entry_t *lookup(tlb_t *t, uint64_t vpn) {
  entry_t *set = &t->e[(vpn % t->sets) * t->ways];
  for (int w = 0; w < t->ways; w++)
    if (set[w].valid && set[w].vpn == vpn) return &set[w];
  return NULL;
}

static void fill(tlb_t *t, uint64_t vpn, uint64_t pfn, int dirty) {
  entry_t *set = &t->e[(vpn % t->sets) * t->ways];
  entry_t *victim = NULL;
  for (int w = 0; w < t->ways; w++) if (set[w].valid && set[w].vpn == vpn) { victim = &set[w]; break; }
  if (!victim) {
    victim = &set[0];
    for (int w = 0; w < t->ways; w++) {
      if (!set[w].valid) { victim = &set[w]; break; }
      if (set[w].stamp < victim->stamp) victim = &set[w];
    }
  }
  victim->vpn = vpn; victim->pfn = pfn; victim->dirty = dirty; victim->valid = 1; victim->stamp = now;
}

/* Full 4-level walk; 0 on a fault. */
static int walk(uint64_t va, int write, uint64_t *pfn, int *dirty) {
  walks++;
  uint64_t table = 0;
  uint64_t *used[4];
  int n = 0;
  for (int l = 4; l >= 1; l--) {
    uint64_t *e = &phys[(table >> 3) + ((va >> (12 + 9 * (l - 1))) & 511)];
    if (!(*e & P)) { faults++; return 0; }
    used[n++] = e;
    if (l == 2 && (*e & PS)) {
      for (int i = 0; i < n; i++) *used[i] |= A;
      if (write) *e |= D;
      *pfn = ((*e & ADDR) >> 12) + ((va >> 12) & 511);
      *dirty = (*e & D) != 0;
      return 1;
    }
    table = *e & ADDR;
  }
  for (int i = 0; i < n; i++) *used[i] |= A;
  if (write) *used[n - 1] |= D;
  *pfn = (*used[n - 1] & ADDR) >> 12;
  *dirty = (*used[n - 1] & D) != 0;
  return 1;
}

static void access(tlb_t *l1, tlb_t *l2, uint64_t va, int write) {
  now++;
  accesses++;
  uint64_t vpn = va >> 12;
  entry_t *e = lookup(l1, vpn);
  if (e) {
    l1_hit++;
    if (!write || e->dirty) { e->stamp = now; return; }
    dirty_assists++;
  } else {
    e = lookup(l2, vpn);
    if (e) {
      stlb_hit++;
      if (!write || e->dirty) { e->stamp = now; fill(l1, vpn, e->pfn, e->dirty); return; }
      dirty_assists++;
    }
  }
  uint64_t pfn;
  int dirty;
  if (!walk(va, write, &pfn, &dirty)) return;
  fill(l2, vpn, pfn, dirty);
  fill(l1, vpn, pfn, dirty);
}

static uint32_t seed = 0x2545f491;
static uint32_t rnd(void) { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; return seed; }
static int hot_hole(uint32_t p) { return ((uint32_t)(p * 0x9e3779b1u) >> 20) % 25 == 0; }
#define BASE 0x100000000ull

static uint64_t next_va(const char *t, uint64_t i, int *write) {
  *write = rnd() % 10 < 3;
  uint64_t page;
  if (!strcmp(t, "seq")) return BASE + 32 * (i % (1u << 25));
  if (!strcmp(t, "hot")) { uint32_t r = rnd(); page = r % 10 == 0 ? 32 + rnd() % 999968 : rnd() % 32; }
  else if (!strcmp(t, "rand1k")) page = rnd() % 1000;
  else if (!strcmp(t, "rand1m")) page = (uint64_t)(rnd() % 1000000) * 1048576 / 1000000;
  else page = rnd() % (1u << 22);
  return BASE + page * 4096 + (rnd() & 0xff8);
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: plain <hot|rand1k|rand1m|seq|huge16g> <accesses>\n"); return 2; }
  const char *t = argv[1];
  uint64_t n = strtoull(argv[2], NULL, 10);
  phys = calloc((size_t)1 << 21, 8 * 64); /* 64 MiB of table frames */
  if (!phys) return 1;
  uint64_t data = 0x40000000;
  if (!strcmp(t, "hot")) { for (uint32_t p = 0; p < 1000000; p++) if (p < 32 || !hot_hole(p)) map(BASE + (uint64_t)p * 4096, 1, (data + (p & 511) * 4096) | P | RW | US); }
  else if (!strcmp(t, "rand1k")) { for (uint64_t p = 0; p < 1000; p++) map(BASE + p * 4096, 1, (data + (p & 511) * 4096) | P | RW | US); }
  else if (!strcmp(t, "rand1m")) { for (uint64_t j = 0; j < 1000000; j++) { uint64_t p = j * 1048576 / 1000000; map(BASE + p * 4096, 1, (data + (p & 511) * 4096) | P | RW | US); } }
  else if (!strcmp(t, "seq")) { for (uint64_t p = 0; p < 262144; p++) map(BASE + p * 4096, 1, (data + (p & 511) * 4096) | P | RW | US); }
  else { for (uint64_t h = 0; h < 8192; h++) map(BASE + h * 0x200000, 2, data | P | RW | US | PS); }
  tlb_t l1 = { 16, 4, calloc(64, sizeof(entry_t)) };
  tlb_t l2 = { 128, 12, calloc(1536, sizeof(entry_t)) };
  const uint64_t chunk = 1 << 20;
  rec_t *recs = malloc(chunk * sizeof(rec_t));
  uint64_t ns = 0, wall_ns = 0;
  for (uint64_t done = 0; done < n; done += chunk) {
    uint64_t count = n - done < chunk ? n - done : chunk;
    for (uint64_t i = 0; i < count; i++) {
      int w;
      recs[i].va = next_va(t, done + i, &w);
      recs[i].size = 8; recs[i].kind = w ? 0x11 : 0x10; recs[i].cpu = 0; recs[i].reserved = 0;
    }
    /* CPU time (as the Wasm side measures it: on a shared machine wall time also counts the
       time other processes held the core), and wall time alongside. */
    struct timespec a, b, wa, wb;
    clock_gettime(CLOCK_MONOTONIC, &wa);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    for (uint64_t i = 0; i < count; i++) access(&l1, &l2, recs[i].va, recs[i].kind & 1);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    clock_gettime(CLOCK_MONOTONIC, &wb);
    wall_ns += (uint64_t)(wb.tv_sec - wa.tv_sec) * 1000000000ull + (uint64_t)(wb.tv_nsec - wa.tv_nsec);
    ns += (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t)(b.tv_nsec - a.tv_nsec);
  }
  printf("{\"trace\":\"%s\",\"ns\":%llu,\"wallNs\":%llu,\"accesses\":%llu,\"l1_hit\":%llu,\"stlb_hit\":%llu,\"walks\":%llu,\"faults\":%llu,\"dirty_assists\":%llu}\n",
    t, (unsigned long long)ns, (unsigned long long)wall_ns, (unsigned long long)accesses, (unsigned long long)l1_hit, (unsigned long long)stlb_hit,
    (unsigned long long)walks, (unsigned long long)faults, (unsigned long long)dirty_assists);
  return 0;
}
