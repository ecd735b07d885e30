// The library: batch::make_executor with statically typed operations and buckets.
#include "common.hpp"

#include <batch/batch.hpp>

#include <boost/hana/tuple.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace {

namespace hana = boost::hana;

struct get {
    int key;
    using result_type = int;
};
struct identity {
    int value;
    using result_type = int;
};
template <int Type>
struct get_n {
    int key;
    using result_type = int;
};

/// The `get` of W1 with deduplication switched on (the keys are distinct, so this measures
/// what the feature costs when it finds nothing to merge).
struct dedup_get {
    int key;
    using result_type = int;
    static constexpr bool deduplicate = true;
    bool operator==(dedup_get const&) const = default;
};

} // namespace

template <>
struct std::hash<dedup_get> {
    std::size_t operator()(dedup_get const& g) const noexcept { return std::hash<int>{}(g.key); }
};

namespace {

/// Answers `key * 2` through a buffer it reuses: no allocation per call.
struct get_batcher {
    std::vector<int> keys;
    std::vector<int> out;
    template <class Op>
    requires requires(Op const& op) { op.key; }
    std::span<int const> operator()(std::span<Op const> in) {
        keys.clear();
        for (auto const& op : in) keys.push_back(op.key);
        bench::get_batch(keys, out);
        return out;
    }
};

struct identity_batcher {
    std::vector<int> out;
    std::span<int const> operator()(std::span<identity const> in) {
        out.clear();
        for (auto const& op : in) out.push_back(op.value);
        return out;
    }
};

using ops = batch::operations<get, identity, dedup_get>;
template <class T>
using gen = batch::gen<T, ops>;

// W1: the root yields N children at once; each yields one get.
gen<int> w1_child(int i) {
    int r = co_yield get{i};
    co_return r + 1;
}

gen<std::int64_t> w1_root(int n) {
    std::vector<gen<int>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) children.push_back(w1_child(i));
    auto results = co_yield std::move(children);
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    co_return sum;
}

// W1 with a deduplicating operation type, and with each child shared.
gen<int> w1_dedup_child(int i) {
    int r = co_yield dedup_get{i};
    co_return r + 1;
}

gen<std::int64_t> w1_dedup_root(int n) {
    std::vector<gen<int>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) children.push_back(w1_dedup_child(i));
    auto results = co_yield std::move(children);
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    co_return sum;
}

gen<std::int64_t> w1_shared_root(int n) {
    std::vector<batch::shared<int, ops>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) children.push_back(batch::share(w1_child(i)));
    auto results = co_yield std::move(children);
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    co_return sum;
}

// W2: the original README at scale.
gen<int> w2_user(int i) {
    int r = co_yield get{i};
    co_return r;
}

gen<int> w2_spouse(int i, int n) {
    int r = co_yield get{1'000'000 + i};
    int spouse = co_yield w2_user((r / 2 - 1'000'000 + 1) % n);
    co_return spouse;
}

gen<int> w2_spouses(int i, int n) {
    auto [u, s] = co_yield hana::make_tuple(w2_user(i), w2_spouse(i, n));
    co_return u + s;
}

gen<std::int64_t> w2_root(int n) {
    std::vector<gen<int>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) children.push_back(w2_spouses(i, n));
    auto results = co_yield std::move(children);
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    co_return sum;
}

// W3: N sequential yields.
gen<std::int64_t> w3_chain(int n) {
    std::int64_t sum = 0;
    for (int i = 0; i < n; ++i) {
        int r = co_yield get{i};
        sum += r;
    }
    co_return sum;
}

// W4: Fibonacci with operations at every node.
gen<int> w4_fib(int n) {
    if (n <= 1) {
        int one = co_yield identity{1};
        co_return one;
    }
    auto [i, j] = co_yield hana::make_tuple(identity{n - 1}, identity{n - 2});
    auto [a, b] = co_yield hana::make_tuple(w4_fib(i), w4_fib(j));
    co_return a + b;
}

// W5: eight operation types; each child yields one of each in a Hana tuple.
using wide_ops = batch::operations<get_n<0>, get_n<1>, get_n<2>, get_n<3>, get_n<4>, get_n<5>, get_n<6>, get_n<7>>;
template <class T>
using wide_gen = batch::gen<T, wide_ops>;

wide_gen<int> w5_child(int i) {
    auto [a, b, c, d, e, f, g, h] = co_yield hana::make_tuple(get_n<0>{i}, get_n<1>{i}, get_n<2>{i}, get_n<3>{i},
                                                              get_n<4>{i}, get_n<5>{i}, get_n<6>{i}, get_n<7>{i});
    co_return a + b + c + d + e + f + g + h;
}

wide_gen<std::int64_t> w5_root(int n) {
    std::vector<wide_gen<int>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) children.push_back(w5_child(i));
    auto results = co_yield std::move(children);
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    co_return sum;
}

template <class Executor, class Program>
void run_typed(benchmark::State& state, Executor& ex, Program program, std::size_t ops, std::int64_t expected) {
    bench::measure(
        state, ops, expected, [&] { return ex.run(program()); }, [&] { return ex.stats().batches; },
        [&] { return ex.stats().rounds; });
}

auto make_ops_executor() { return batch::make_executor<ops>(get_batcher{}, identity_batcher{}); }

[[maybe_unused]] bool const registered = [] {
    for (auto n : bench::w1_sizes) {
        benchmark::RegisterBenchmark("W1_fanout/typed", [](benchmark::State& s) {
            auto const n = static_cast<int>(s.range(0));
            auto ex = make_ops_executor();
            s.counters["peak_bytes_per_gen"] = bench::cold_peak_bytes([&] { ex.run(w1_root(n)); }) / n;
            run_typed(
                s, ex, [n] { return w1_root(n); }, static_cast<std::size_t>(n), std::int64_t{n} * n);
        })->Arg(n);
    }
    for (auto n : bench::w1_sizes) {
        benchmark::RegisterBenchmark("W1_fanout/typed_dedup", [](benchmark::State& s) {
            auto const n = static_cast<int>(s.range(0));
            auto ex = make_ops_executor();
            run_typed(
                s, ex, [n] { return w1_dedup_root(n); }, static_cast<std::size_t>(n), std::int64_t{n} * n);
        })->Arg(n);
        benchmark::RegisterBenchmark("W1_fanout/typed_shared", [](benchmark::State& s) {
            auto const n = static_cast<int>(s.range(0));
            auto ex = make_ops_executor();
            run_typed(
                s, ex, [n] { return w1_shared_root(n); }, static_cast<std::size_t>(n), std::int64_t{n} * n);
        })->Arg(n);
    }
    benchmark::RegisterBenchmark("W2_spouses/typed", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        auto ex = make_ops_executor();
        run_typed(
            s, ex, [n] { return w2_root(n); }, static_cast<std::size_t>(3 * n), 2 * std::int64_t{n} * (n - 1));
    })->Arg(bench::w2_size);
    benchmark::RegisterBenchmark("W3_chain/typed", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        auto ex = make_ops_executor();
        run_typed(
            s, ex, [n] { return w3_chain(n); }, static_cast<std::size_t>(n), std::int64_t{n} * (n - 1));
    })->Arg(bench::w3_size);
    benchmark::RegisterBenchmark("W4_fib/typed", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        auto ex = make_ops_executor();
        run_typed(
            s, ex, [n] { return w4_fib(n); }, 12'541, 4181);
    })->Arg(bench::w4_depth);
    benchmark::RegisterBenchmark("W5_wide/typed", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        auto ex = batch::make_executor<wide_ops>(get_batcher{});
        run_typed(
            s, ex, [n] { return w5_root(n); }, static_cast<std::size_t>(8 * n), 8 * std::int64_t{n} * (n - 1));
    })->Arg(bench::w5_size);
    return true;
}();

} // namespace
