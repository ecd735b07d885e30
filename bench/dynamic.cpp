// The runtime-typed baseline: batch::dynamic, the original project's design in C++.
#include "common.hpp"
#include "workloads.hpp"

#include <batch/dynamic/executor.hpp>

#include <any>
#include <cstdint>
#include <span>
#include <vector>

namespace {

namespace dyn = batch::dynamic;

/// Serves every keyed operation of its kind with `key * 2`, as the other implementations do.
struct key_batcher final : dyn::batcher {
    std::vector<int> keys;
    std::vector<int> out;
    std::vector<std::any> batch(std::span<dyn::operation const* const> ops) override;
};

struct identity_batcher final : dyn::batcher {
    std::vector<std::any> batch(std::span<dyn::operation const* const> ops) override;
};

/// A keyed operation served by one of several batcher objects (W5's eight types).
struct keyed final : dyn::operation_of<int> {
    int key;
    key_batcher* server;
    keyed(int k, key_batcher* s) : key(k), server(s) {}
    dyn::batcher& get_batcher() const override { return *server; }
};

struct identity_op final : dyn::operation_of<int> {
    int value;
    identity_batcher* server;
    identity_op(int v, identity_batcher* s) : value(v), server(s) {}
    dyn::batcher& get_batcher() const override { return *server; }
};

std::vector<std::any> key_batcher::batch(std::span<dyn::operation const* const> ops) {
    keys.clear();
    for (auto const* op : ops) keys.push_back(static_cast<keyed const*>(op)->key);
    bench::get_batch(keys, out);
    return std::vector<std::any>(out.begin(), out.end());
}

std::vector<std::any> identity_batcher::batch(std::span<dyn::operation const* const> ops) {
    std::vector<std::any> results;
    results.reserve(ops.size());
    for (auto const* op : ops) results.emplace_back(static_cast<identity_op const*>(op)->value);
    return results;
}

// The batchers the programs name; one set per benchmark thread.
struct servers {
    key_batcher gets[8];
    identity_batcher identities;
};
thread_local servers the_servers;

/// The workloads over runtime-typed operations: W5's eight types are eight batcher objects.
struct dynamic_world {
    template <class T>
    using gen = dyn::gen<T>;
    template <class T>
    using wide_gen = dyn::gen<T>;

    static keyed get(int key) { return keyed{key, &the_servers.gets[0]}; }
    static identity_op identity(int value) { return identity_op{value, &the_servers.identities}; }
    template <int Type>
    static keyed get_n(int key) {
        return keyed{key, &the_servers.gets[Type]};
    }
};

template <class Program>
void run_dynamic(benchmark::State& state, dyn::executor& ex, Program program, std::size_t ops, std::int64_t expected) {
    bench::measure(
        state, ops, expected, [&] { return ex.run(program()); }, [&] { return ex.stats().batches; },
        [&] { return ex.stats().rounds; });
}

[[maybe_unused]] bool const registered = [] {
    for (auto n : bench::w1_sizes) {
        benchmark::RegisterBenchmark("W1_fanout/dynamic", [](benchmark::State& s) {
            auto const n = static_cast<int>(s.range(0));
            dyn::executor ex;
            s.counters["peak_bytes_per_gen"] =
                bench::cold_peak_bytes([&] { ex.run(bench::w1_root<dynamic_world>(n)); }) / n;
            run_dynamic(
                s, ex, [n] { return bench::w1_root<dynamic_world>(n); }, static_cast<std::size_t>(n),
                std::int64_t{n} * n);
        })->Arg(n);
    }
    benchmark::RegisterBenchmark("W2_spouses/dynamic", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        dyn::executor ex;
        run_dynamic(
            s, ex, [n] { return bench::w2_root<dynamic_world>(n); }, static_cast<std::size_t>(3 * n),
            2 * std::int64_t{n} * (n - 1));
    })->Arg(bench::w2_size);
    benchmark::RegisterBenchmark("W3_chain/dynamic", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        dyn::executor ex;
        run_dynamic(
            s, ex, [n] { return bench::w3_chain<dynamic_world>(n); }, static_cast<std::size_t>(n),
            std::int64_t{n} * (n - 1));
    })->Arg(bench::w3_size);
    benchmark::RegisterBenchmark("W4_fib/dynamic", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        dyn::executor ex;
        run_dynamic(
            s, ex, [n] { return bench::w4_fib<dynamic_world>(n); }, 12'541, 4181);
    })->Arg(bench::w4_depth);
    benchmark::RegisterBenchmark("W5_wide/dynamic", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        dyn::executor ex;
        run_dynamic(
            s, ex, [n] { return bench::w5_root<dynamic_world>(n); }, static_cast<std::size_t>(8 * n),
            8 * std::int64_t{n} * (n - 1));
    })->Arg(bench::w5_size);
    return true;
}();

} // namespace
