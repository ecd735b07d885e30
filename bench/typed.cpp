// The library: batch::make_executor with statically typed operations and buckets.
#include "common.hpp"
#include "workloads.hpp"

#include <batch/batch.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace {

struct key_get {
    int key;
    using result_type = int;
};
struct identity_op {
    int value;
    using result_type = int;
};
template <int Type>
struct keyed_n {
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

struct identity_batcher {
    std::vector<int> out;
    std::span<int const> operator()(std::span<identity_op const> in) {
        out.clear();
        for (auto const& op : in) out.push_back(op.value);
        return out;
    }
};

using ops = batch::operations<key_get, identity_op, dedup_get>;
template <class T>
using gen = batch::gen<T, ops>;

using wide_ops =
    batch::operations<keyed_n<0>, keyed_n<1>, keyed_n<2>, keyed_n<3>, keyed_n<4>, keyed_n<5>, keyed_n<6>, keyed_n<7>>;

/// The workloads over statically typed operations.
struct typed_world {
    template <class T>
    using gen = batch::gen<T, ops>;
    template <class T>
    using wide_gen = batch::gen<T, wide_ops>;

    static key_get get(int key) { return {key}; }
    static identity_op identity(int value) { return {value}; }
    template <int Type>
    static keyed_n<Type> get_n(int key) {
        return {key};
    }
};

/// W1 with a deduplicating operation type (its keys are distinct: this is the feature's cost).
struct dedup_world : typed_world {
    static dedup_get get(int key) { return {key}; }
};

template <class T>
using gen = typed_world::gen<T>;

// W1 with each child shared: usable on any thread (`threads::any`, the default), or kept on
// this one (`threads::one`).
template <batch::threads Th>
gen<std::int64_t> w1_shared_root(int n) {
    return bench::fan_out<gen<std::int64_t>, batch::shared<int, ops, Th>>(
        n, [](int i) { return batch::share<Th>(bench::w1_child<typed_world>(i)); });
}

template <class Executor, class Program>
void run_typed(benchmark::State& state, Executor& ex, Program program, std::size_t ops, std::int64_t expected) {
    bench::measure(
        state, ops, expected, [&] { return ex.run(program()); }, [&] { return ex.stats().batches; },
        [&] { return ex.stats().rounds; });
}

auto make_ops_executor() { return batch::make_executor<ops>(bench::get_batcher{}, identity_batcher{}); }

/// W1 with each child shared (`w1_shared_root<Th>`), registered as `name` at `n`.
template <batch::threads Th>
void register_w1_shared(char const* name, std::int64_t n) {
    benchmark::RegisterBenchmark(name, [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        auto ex = make_ops_executor();
        run_typed(
            s, ex, [n] { return w1_shared_root<Th>(n); }, static_cast<std::size_t>(n), std::int64_t{n} * n);
    })->Arg(n);
}

/// W1 at 1,000 and 100,000 and W3, as `W1_fanout/<name>` and `W3_chain/<name>`, on an executor
/// with the observer `make_observer()`; `prepare(observer)` runs before each run.
template <class MakeObserver, class Prepare>
void register_observed(std::string const& name, MakeObserver make_observer, Prepare prepare) {
    auto const make = [make_observer] {
        return batch::make_executor<ops>(bench::get_batcher{}, identity_batcher{},
                                         batch::with_observer(make_observer()));
    };
    // One benchmark `<workload>/<name>` at `arg`: `root(n)` is the program, `expected(n)` its result.
    auto const add = [&](std::string const& workload, auto root, auto expected, std::int64_t arg) {
        benchmark::RegisterBenchmark((workload + "/" + name).c_str(), [=](benchmark::State& s) {
            auto const n = static_cast<int>(s.range(0));
            auto ex = make();
            run_typed(
                s, ex,
                [n, &ex, prepare, root] {
                    prepare(ex.observer());
                    return root(n);
                },
                static_cast<std::size_t>(n), expected(std::int64_t{n}));
        })->Arg(arg);
    };
    auto const w1 = [](int n) { return bench::w1_root<typed_world>(n); };
    auto const w1_sum = [](std::int64_t n) { return n * n; };
    auto const w3 = [](int n) { return bench::w3_chain<typed_world>(n); };
    auto const w3_sum = [](std::int64_t n) { return n * (n - 1); };
    for (std::int64_t n : {std::int64_t{1'000}, std::int64_t{100'000}}) add("W1_fanout", w1, w1_sum, n);
    add("W3_chain", w3, w3_sum, bench::w3_size);
}

[[maybe_unused]] bool const registered = [] {
    for (auto n : bench::w1_sizes) {
        benchmark::RegisterBenchmark("W1_fanout/typed", [](benchmark::State& s) {
            auto const n = static_cast<int>(s.range(0));
            auto ex = make_ops_executor();
            s.counters["peak_bytes_per_gen"] =
                bench::cold_peak_bytes([&] { ex.run(bench::w1_root<typed_world>(n)); }) / n;
            run_typed(
                s, ex, [n] { return bench::w1_root<typed_world>(n); }, static_cast<std::size_t>(n),
                std::int64_t{n} * n);
        })->Arg(n);
    }
    for (auto n : bench::w1_sizes) {
        benchmark::RegisterBenchmark("W1_fanout/typed_dedup", [](benchmark::State& s) {
            auto const n = static_cast<int>(s.range(0));
            auto ex = make_ops_executor();
            run_typed(
                s, ex, [n] { return bench::w1_root<dedup_world>(n); }, static_cast<std::size_t>(n),
                std::int64_t{n} * n);
        })->Arg(n);
        register_w1_shared<batch::threads::any>("W1_fanout/typed_shared", n);
        register_w1_shared<batch::threads::one>("W1_fanout/typed_shared_one_thread", n);
    }
    // What observing costs: the timing observer (times in the stats), and a trace writer
    // (cleared before each run, so that it holds one run's spans).
    register_observed(
        "typed_timing", [] { return batch::timing{}; }, [](batch::timing&) {});
    register_observed(
        "typed_trace", [] { return batch::trace_writer{}; }, [](batch::trace_writer& t) { t.clear(); });
    benchmark::RegisterBenchmark("W2_spouses/typed", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        auto ex = make_ops_executor();
        run_typed(
            s, ex, [n] { return bench::w2_root<typed_world>(n); }, static_cast<std::size_t>(3 * n),
            2 * std::int64_t{n} * (n - 1));
    })->Arg(bench::w2_size);
    benchmark::RegisterBenchmark("W3_chain/typed", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        auto ex = make_ops_executor();
        run_typed(
            s, ex, [n] { return bench::w3_chain<typed_world>(n); }, static_cast<std::size_t>(n),
            std::int64_t{n} * (n - 1));
    })->Arg(bench::w3_size);
    benchmark::RegisterBenchmark("W4_fib/typed", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        auto ex = make_ops_executor();
        run_typed(
            s, ex, [n] { return bench::w4_fib<typed_world>(n); }, 12'541, 4181);
    })->Arg(bench::w4_depth);
    benchmark::RegisterBenchmark("W5_wide/typed", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        auto ex = batch::make_executor<wide_ops>(bench::get_batcher{});
        run_typed(
            s, ex, [n] { return bench::w5_root<typed_world>(n); }, static_cast<std::size_t>(8 * n),
            8 * std::int64_t{n} * (n - 1));
    })->Arg(bench::w5_size);
    return true;
}();

} // namespace
