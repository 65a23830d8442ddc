/*
 * The tuned C twin of bench/native/plain.c (issue #17): the same TLB model and traces, written as
 * fast as we know how, to show how close to the machine the Wasm replay comes. Built with
 * gcc -O2 -march=native.
 *
 * Differences from plain.c (none changes a counter):
 * - per set, 32-bit tags (the VPN: every trace address is below 2^44) in their own array, padded
 *   to a multiple of four ways; a lookup is one SSE2 compare of four tags per instruction group and
 *   a movemask; the entry payload (PFN, dirty) sits in a parallel array;
 * - 32-bit ages (the access clock; 2^25 accesses stay far below 2^32), invalid = age 0;
 * - branch-free victim: the minimum of (age << 4 | way) over the set, so an invalid way (age 0)
 *   wins and ties go to the lowest way;
 * - the walk unrolled over its four levels (a 2 MiB leaf ends it at level 2);
 * - a run of accesses to the page of the previous one skips the lookup (the entry cannot have
 *   moved: nothing between two accesses of the run touches the arrays) — as any tuned replayer
 *   would.
 *
 * Usage: tuned <hot|rand1k|rand1m|seq|huge16g> <accesses>; prints one JSON line as plain.c does.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <immintrin.h>

#define P 1ull
#define RW 2ull
#define US 4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define ADDR 0x000ffffffffff000ull
#define INVALID 0xffffffffu

typedef struct { uint64_t va; uint8_t size, kind; uint16_t cpu; uint32_t reserved; } rec_t;

/* An array: sets × wp tags, ages and payloads (pfn << 1 | dirty). */
typedef struct { uint32_t sets, ways, wp; uint32_t *tag, *age; uint64_t *pay; } tlb_t;

static uint64_t *phys;
static uint64_t next_frame = 1;
static uint32_t now;
static uint64_t l1_hit, stlb_hit, walks, faults, dirty_assists;

static void tlb_init(tlb_t *t, uint32_t sets, uint32_t ways) {
  t->sets = sets; t->ways = ways; t->wp = (ways + 3) & ~3u;
  t->tag = aligned_alloc(64, (size_t)sets * t->wp * 4 + 64);
  t->age = aligned_alloc(64, (size_t)sets * t->wp * 4 + 64);
  t->pay = aligned_alloc(64, (size_t)sets * t->wp * 8 + 64);
  memset(t->tag, 0xff, (size_t)sets * t->wp * 4);
  memset(t->age, 0, (size_t)sets * t->wp * 4);
}

static inline int find4(const uint32_t *tags, uint32_t key) {
  __m128i k = _mm_set1_epi32((int)key);
  return _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(_mm_load_si128((const __m128i *)tags), k)));
}

/* Index of the entry for `vpn`, or -1. WP ways (4 or 12) known at compile time. */
static inline int lookup(const tlb_t *t, uint32_t vpn, const int wp) {
  uint32_t base = (vpn & (t->sets - 1)) * wp;
  const uint32_t *tags = t->tag + base;
  int m = find4(tags, vpn);
  if (wp > 4) m |= find4(tags + 4, vpn) << 4 | find4(tags + 8, vpn) << 8;
  return m ? (int)base + __builtin_ctz(m) : -1;
}

static inline uint32_t victim(const tlb_t *t, uint32_t base, const int ways) {
  uint64_t best = ~0ull;
  for (int w = 0; w < ways; w++) {
    uint64_t k = (uint64_t)t->age[base + w] << 4 | (uint64_t)w;
    best = k < best ? k : best;
  }
  return base + (uint32_t)(best & 15);
}

static inline void fill_absent(tlb_t *t, uint32_t vpn, uint64_t pay, const int ways) {
  uint32_t i = victim(t, (vpn & (t->sets - 1)) * ((ways + 3) & ~3), ways);
  t->tag[i] = vpn; t->age[i] = now; t->pay[i] = pay;
}

static inline void fill(tlb_t *t, uint32_t vpn, uint64_t pay, const int ways) {
  int i = lookup(t, vpn, (ways + 3) & ~3);
  if (i >= 0) { t->age[i] = now; t->pay[i] = pay; return; }
  fill_absent(t, vpn, pay, ways);
}

static void map(uint64_t va, int level, uint64_t leaf) {
  uint64_t table = 0;
  for (int l = 4; l > level; l--) {
    uint64_t *e = &phys[(table >> 3) + ((va >> (12 + 9 * (l - 1))) & 511)];
    if (!(*e & P)) *e = ((next_frame++) << 12) | P | RW | US;
    table = *e & ADDR;
  }
  phys[(table >> 3) + ((va >> (12 + 9 * (level - 1))) & 511)] = leaf;
}

#define IDX(va, l) (((va) >> (12 + 9 * ((l) - 1))) & 511)
/* The walk, unrolled; returns the payload (pfn << 1 | dirty) or ~0 on a fault. */
static inline uint64_t walk(uint64_t va, int write) {
  walks++;
  uint64_t *e4 = &phys[IDX(va, 4)];
  uint64_t v4 = *e4;
  if (!(v4 & P)) goto fault;
  uint64_t *e3 = &phys[((v4 & ADDR) >> 3) + IDX(va, 3)];
  uint64_t v3 = *e3;
  if (!(v3 & P)) goto fault;
  uint64_t *e2 = &phys[((v3 & ADDR) >> 3) + IDX(va, 2)];
  uint64_t v2 = *e2;
  if (!(v2 & P)) goto fault;
  uint64_t leafbits = write ? A | D : A;
  if (v2 & PS) {
    if (!(v4 & A)) *e4 = v4 | A;
    if (!(v3 & A)) *e3 = v3 | A;
    v2 |= leafbits;
    *e2 = v2;
    return ((((v2 & ADDR) >> 12) + ((va >> 12) & 511)) << 1) | ((v2 & D) != 0);
  }
  uint64_t *e1 = &phys[((v2 & ADDR) >> 3) + IDX(va, 1)];
  uint64_t v1 = *e1;
  if (!(v1 & P)) goto fault;
  if (!(v4 & v3 & v2 & A)) { *e4 = v4 | A; *e3 = v3 | A; *e2 = v2 | A; }
  if ((v1 & leafbits) != leafbits) { v1 |= leafbits; *e1 = v1; }
  return (((v1 & ADDR) >> 12) << 1) | ((v1 & D) != 0);
fault:
  faults++;
  return ~0ull;
}

static tlb_t l1, l2;

static void replay(const rec_t *recs, uint64_t count) {
  uint32_t memo_vpn = INVALID;
  int memo = -1;           /* L1 entry of memo_vpn */
  for (uint64_t i = 0; i < count; i++) {
    uint64_t va = recs[i].va;
    int write = recs[i].kind & 1;
    uint32_t vpn = (uint32_t)(va >> 12);
    now++;
    int e = vpn == memo_vpn ? memo : lookup(&l1, vpn, 4);
    if (e >= 0) {
      l1_hit++;
      if (!write || (l1.pay[e] & 1)) { l1.age[e] = now; memo_vpn = vpn; memo = e; continue; }
      dirty_assists++;
    } else {
      int s = lookup(&l2, vpn, 12);
      if (s >= 0) {
        stlb_hit++;
        uint64_t pay = l2.pay[s];
        if (!write || (pay & 1)) {
          l2.age[s] = now;
          uint32_t v = victim(&l1, (vpn & 15) * 4, 4);
          l1.tag[v] = vpn; l1.age[v] = now; l1.pay[v] = pay;
          memo_vpn = vpn; memo = (int)v;
          continue;
        }
        dirty_assists++;
      }
    }
    memo_vpn = INVALID;
    uint64_t pay = walk(va, write);
    if (pay == ~0ull) continue;
    if (e >= 0) { fill(&l2, vpn, pay, 12); l1.age[e] = now; l1.pay[e] = pay; }
    else {
      fill(&l2, vpn, pay, 12);
      fill_absent(&l1, vpn, pay, 4);
    }
  }
}

static uint32_t seed = 0x2545f491;
static uint32_t rnd(void) { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; return seed; }
static int hot_hole(uint32_t p) { return ((uint32_t)(p * 0x9e3779b1u) >> 20) % 25 == 0; }
#define BASE 0x100000000ull

static uint64_t next_va(int t, uint64_t i, int *write) {
  *write = rnd() % 10 < 3;
  uint64_t page;
  if (t == 3) return BASE + 32 * (i % (1u << 25));
  if (t == 0) { uint32_t r = rnd(); page = r % 10 == 0 ? 32 + rnd() % 999968 : rnd() % 32; }
  else if (t == 1) page = rnd() % 1000;
  else if (t == 2) page = (uint64_t)(rnd() % 1000000) * 1048576 / 1000000;
  else page = rnd() % (1u << 22);
  return BASE + page * 4096 + (rnd() & 0xff8);
}

int main(int argc, char **argv) {
  static const char *names[] = { "hot", "rand1k", "rand1m", "seq", "huge16g" };
  if (argc < 3) { fprintf(stderr, "usage: tuned <hot|rand1k|rand1m|seq|huge16g> <accesses>\n"); return 2; }
  int t = -1;
  for (int k = 0; k < 5; k++) if (!strcmp(argv[1], names[k])) t = k;
  if (t < 0) return 2;
  uint64_t n = strtoull(argv[2], NULL, 10);
  phys = calloc((size_t)1 << 21, 8 * 64);
  if (!phys) return 1;
  uint64_t data = 0x40000000;
  if (t == 0) { for (uint32_t p = 0; p < 1000000; p++) if (p < 32 || !hot_hole(p)) map(BASE + (uint64_t)p * 4096, 1, (data + (p & 511) * 4096) | P | RW | US); }
  else if (t == 1) { for (uint64_t p = 0; p < 1000; p++) map(BASE + p * 4096, 1, (data + (p & 511) * 4096) | P | RW | US); }
  else if (t == 2) { for (uint64_t j = 0; j < 1000000; j++) { uint64_t p = j * 1048576 / 1000000; map(BASE + p * 4096, 1, (data + (p & 511) * 4096) | P | RW | US); } }
  else if (t == 3) { for (uint64_t p = 0; p < 262144; p++) map(BASE + p * 4096, 1, (data + (p & 511) * 4096) | P | RW | US); }
  else { for (uint64_t h = 0; h < 8192; h++) map(BASE + h * 0x200000, 2, data | P | RW | US | PS); }
  tlb_init(&l1, 16, 4);
  tlb_init(&l2, 128, 12);
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
    replay(recs, count);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    clock_gettime(CLOCK_MONOTONIC, &wb);
    wall_ns += (uint64_t)(wb.tv_sec - wa.tv_sec) * 1000000000ull + (uint64_t)(wb.tv_nsec - wa.tv_nsec);
    ns += (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t)(b.tv_nsec - a.tv_nsec);
  }
  printf("{\"trace\":\"%s\",\"ns\":%llu,\"wallNs\":%llu,\"accesses\":%llu,\"l1_hit\":%llu,\"stlb_hit\":%llu,\"walks\":%llu,\"faults\":%llu,\"dirty_assists\":%llu}\n",
    argv[1], (unsigned long long)ns, (unsigned long long)wall_ns, (unsigned long long)n, (unsigned long long)l1_hit, (unsigned long long)stlb_hit,
    (unsigned long long)walks, (unsigned long long)faults, (unsigned long long)dirty_assists);
  return 0;
}
