// The benchmark suite: the workloads of bench/WORKLOADS.md, each for `typed` (the
// library), `dynamic` (the runtime-typed baseline) and `hand` (hand-written batching, the
// limit). Names are WORKLOAD/implementation/N, so that a filter such as
// --benchmark_filter='W1_fanout/.*/100000' selects one comparison.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
