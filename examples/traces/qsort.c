/* The program behind examples/traces/qsort.lackey.gz: sorts 2,000 pseudo-random integers with
 * the C library's qsort and sums a strided walk over a 2 MiB array, so the trace has code, stack,
 * heap and a large-footprint data phase. Recorded with:
 *   gcc -O1 -o qsort qsort.c
 *   valgrind --tool=lackey --trace-mem=yes --log-file=/dev/null --log-fd=… ./qsort
 * (see README "Trace replay" for the exact command used). */
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

int main(void) {
  enum { N = 2000, BIG = 2 << 20 };
  int *v = malloc(N * sizeof *v);
  unsigned s = 12345;
  for (int i = 0; i < N; i++) { s = s * 1103515245u + 12345u; v[i] = (int)(s >> 8); }
  qsort(v, N, sizeof *v, cmp);
  char *big = malloc(BIG);
  long sum = 0;
  for (int i = 0; i < BIG; i += 4096) big[i] = (char)i;
  for (int i = 0; i < BIG; i += 4096 + 64) sum += big[i];
  printf("%d %d %ld\n", v[0], v[N - 1], sum);
  free(big);
  free(v);
  return 0;
}
