#pragma once

// What every workload reports, whichever implementation runs it.

#include "allocation_counter.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

/// The sizes of WORKLOADS.md.
inline constexpr std::int64_t w1_sizes[] = {1'000, 10'000, 100'000, 1'000'000};
inline constexpr int w2_size = 20'000;
inline constexpr int w3_size = 20'000;
inline constexpr int w4_depth = 18;
inline constexpr int w5_size = 20'000;

/// The workloads' batch function: `key * 2` for each key, into a buffer reused across calls.
/// Inlined into every implementation's batcher alike: otherwise g++ inlines it or not by what
/// else the translation unit holds (a change to a shared generator's code elsewhere in
/// typed.cpp moved W3's round from 170 to 189 instructions), and the comparison would measure that.
[[gnu::always_inline]] inline void get_batch(std::span<int const> keys, std::vector<int>& out) {
    out.clear();
    for (int k : keys) out.push_back(k * 2);
}

/// The workloads' batcher for the library: answers `key * 2` for operations with a `key`,
/// through buffers it reuses (no allocation per call).
struct get_batcher {
    std::vector<int> keys;
    std::vector<int> out;
    template <class Op>
    requires requires(Op const& op) { op.key; }
    std::span<int const> operator()(std::span<Op const> in) {
        keys.clear();
        for (auto const& op : in) keys.push_back(op.key);
        get_batch(keys, out);
        return out;
    }
};

/// Measures one workload: `run` executes the program once and returns its result; `ops` is
/// the number of `get`s (or other operations) it issues; `calls` and `rounds` read the
/// implementation's own counters after a run.
template <class Run, class Calls, class Rounds>
void measure(benchmark::State& state, std::size_t ops, std::int64_t expected, Run&& run, Calls&& calls,
             Rounds&& rounds) {
    if (auto const got = run(); got != expected) { // the warm-up run is checked too
        state.SkipWithError(("wrong result " + std::to_string(got) + ", expected " + std::to_string(expected)).c_str());
        return;
    }
    std::size_t const before = allocations().allocations;
    for (auto _ : state) benchmark::DoNotOptimize(run());
    std::size_t const allocated = allocations().allocations - before;
    auto const runs = static_cast<double>(state.iterations());
    state.counters["ns_per_op"] =
        benchmark::Counter(static_cast<double>(ops) * runs, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["ops"] = static_cast<double>(ops);
    state.counters["calls"] = static_cast<double>(calls());
    state.counters["rounds"] = static_cast<double>(rounds());
    state.counters["allocs_per_op"] = static_cast<double>(allocated) / (runs * static_cast<double>(ops));
}

} // namespace bench

#include <thread>

namespace bench {

/// Peak heap growth while `run` runs once on a fresh thread (whose frame pool is empty), in
/// bytes: the memory a cold run needs.
template <class Run>
double cold_peak_bytes(Run&& run) {
    double bytes = 0;
    std::thread cold([&] {
        reset_peak();
        auto const base = allocations().live_bytes;
        run();
        bytes = static_cast<double>(allocations().peak_bytes - base);
    });
    cold.join();
    return bytes;
}

} // namespace bench
