// The limit: hand-written batching with no coroutines. Collect the keys, call the batch
// function, compute the results; buffers are reused across runs, as a tuned service would.
#include "common.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace {

struct hand_state {
    std::vector<int> keys;
    std::vector<int> out;
    std::size_t calls = 0;
    std::size_t rounds = 0;

    void batch() {
        bench::get_batch(keys, out);
        ++calls;
    }
    void reset() { calls = rounds = 0; }
};

std::int64_t w1(hand_state& h, int n) {
    h.reset();
    h.keys.clear();
    for (int i = 0; i < n; ++i) h.keys.push_back(i);
    h.batch();
    ++h.rounds;
    std::int64_t sum = 0;
    for (int r : h.out) sum += r + 1;
    return sum;
}

std::int64_t w2(hand_state& h, int n) {
    h.reset();
    // Round 1: each user, and each user's spouse id.
    h.keys.clear();
    for (int i = 0; i < n; ++i) {
        h.keys.push_back(i);
        h.keys.push_back(1'000'000 + i);
    }
    h.batch();
    std::vector<int>& first = h.out;
    std::int64_t sum = 0;
    std::vector<int> spouses;
    spouses.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        sum += first[static_cast<std::size_t>(2 * i)];
        int const r = first[static_cast<std::size_t>(2 * i + 1)];
        spouses.push_back((r / 2 - 1'000'000 + 1) % n);
    }
    // Round 2: each spouse.
    h.keys.assign(spouses.begin(), spouses.end());
    h.batch();
    for (int r : h.out) sum += r;
    h.rounds = 2;
    return sum;
}

std::int64_t w3(hand_state& h, int n) {
    h.reset();
    std::int64_t sum = 0;
    for (int i = 0; i < n; ++i) {
        h.keys.clear();
        h.keys.push_back(i);
        h.batch();
        ++h.rounds;
        sum += h.out[0];
    }
    return sum;
}

std::int64_t w5(hand_state& h, int n) {
    h.reset();
    std::int64_t sum = 0;
    for (int type = 0; type < 8; ++type) {
        h.keys.clear();
        for (int i = 0; i < n; ++i) h.keys.push_back(i);
        h.batch();
        for (int r : h.out) sum += r;
    }
    h.rounds = 1;
    return sum;
}

template <class Workload>
void run_hand(benchmark::State& state, Workload workload, std::size_t ops, std::int64_t expected) {
    hand_state h;
    int const n = static_cast<int>(state.range(0));
    bench::measure(
        state, ops, expected, [&] { return workload(h, n); }, [&] { return h.calls; }, [&] { return h.rounds; });
}

[[maybe_unused]] bool const registered = [] {
    for (auto n : bench::w1_sizes) {
        benchmark::RegisterBenchmark("W1_fanout/hand", [](benchmark::State& s) {
            auto const n = s.range(0);
            run_hand(s, w1, static_cast<std::size_t>(n), n * n);
        })->Arg(n);
    }
    benchmark::RegisterBenchmark("W2_spouses/hand", [](benchmark::State& s) {
        auto const n = s.range(0);
        run_hand(s, w2, static_cast<std::size_t>(3 * n), 2 * n * (n - 1));
    })->Arg(bench::w2_size);
    benchmark::RegisterBenchmark("W3_chain/hand", [](benchmark::State& s) {
        auto const n = s.range(0);
        run_hand(s, w3, static_cast<std::size_t>(n), n * (n - 1));
    })->Arg(bench::w3_size);
    benchmark::RegisterBenchmark("W5_wide/hand", [](benchmark::State& s) {
        auto const n = s.range(0);
        run_hand(s, w5, static_cast<std::size_t>(8 * n), 8 * n * (n - 1));
    })->Arg(bench::w5_size);
    return true;
}();

} // namespace
