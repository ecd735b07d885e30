// The runtime-typed baseline: batch::dynamic, the original project's design in C++.
#include "common.hpp"

#include <batch/dynamic/executor.hpp>

#include <boost/hana/tuple.hpp>

#include <any>
#include <cstdint>
#include <span>
#include <vector>

namespace {

namespace hana = boost::hana;
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
struct get final : dyn::operation_of<int> {
    int key;
    key_batcher* server;
    get(int k, key_batcher* s) : key(k), server(s) {}
    dyn::batcher& get_batcher() const override { return *server; }
};

struct identity final : dyn::operation_of<int> {
    int value;
    identity_batcher* server;
    identity(int v, identity_batcher* s) : value(v), server(s) {}
    dyn::batcher& get_batcher() const override { return *server; }
};

std::vector<std::any> key_batcher::batch(std::span<dyn::operation const* const> ops) {
    keys.clear();
    for (auto const* op : ops) keys.push_back(static_cast<get const*>(op)->key);
    bench::get_batch(keys, out);
    return std::vector<std::any>(out.begin(), out.end());
}

std::vector<std::any> identity_batcher::batch(std::span<dyn::operation const* const> ops) {
    std::vector<std::any> results;
    results.reserve(ops.size());
    for (auto const* op : ops) results.emplace_back(static_cast<identity const*>(op)->value);
    return results;
}

// The batchers the programs name; one set per benchmark thread.
struct servers {
    key_batcher gets[8];
    identity_batcher identities;
};
thread_local servers the_servers;

get make_get(int key, int type = 0) { return get{key, &the_servers.gets[type]}; }

dyn::gen<int> w1_child(int i) {
    int r = co_yield make_get(i);
    co_return r + 1;
}

dyn::gen<std::int64_t> w1_root(int n) {
    std::vector<dyn::gen<int>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) children.push_back(w1_child(i));
    auto results = co_yield std::move(children);
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    co_return sum;
}

dyn::gen<int> w2_user(int i) {
    int r = co_yield make_get(i);
    co_return r;
}

dyn::gen<int> w2_spouse(int i, int n) {
    int r = co_yield make_get(1'000'000 + i);
    int spouse = co_yield w2_user((r / 2 - 1'000'000 + 1) % n);
    co_return spouse;
}

dyn::gen<int> w2_spouses(int i, int n) {
    auto [u, s] = co_yield hana::make_tuple(w2_user(i), w2_spouse(i, n));
    co_return u + s;
}

dyn::gen<std::int64_t> w2_root(int n) {
    std::vector<dyn::gen<int>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) children.push_back(w2_spouses(i, n));
    auto results = co_yield std::move(children);
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    co_return sum;
}

dyn::gen<std::int64_t> w3_chain(int n) {
    std::int64_t sum = 0;
    for (int i = 0; i < n; ++i) {
        int r = co_yield make_get(i);
        sum += r;
    }
    co_return sum;
}

dyn::gen<int> w4_fib(int n) {
    if (n <= 1) {
        int one = co_yield identity{1, &the_servers.identities};
        co_return one;
    }
    auto [i, j] =
        co_yield hana::make_tuple(identity{n - 1, &the_servers.identities}, identity{n - 2, &the_servers.identities});
    auto [a, b] = co_yield hana::make_tuple(w4_fib(i), w4_fib(j));
    co_return a + b;
}

dyn::gen<int> w5_child(int i) {
    auto [a, b, c, d, e, f, g, h] =
        co_yield hana::make_tuple(make_get(i, 0), make_get(i, 1), make_get(i, 2), make_get(i, 3), make_get(i, 4),
                                  make_get(i, 5), make_get(i, 6), make_get(i, 7));
    co_return a + b + c + d + e + f + g + h;
}

dyn::gen<std::int64_t> w5_root(int n) {
    std::vector<dyn::gen<int>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) children.push_back(w5_child(i));
    auto results = co_yield std::move(children);
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    co_return sum;
}

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
            s.counters["peak_bytes_per_gen"] = bench::cold_peak_bytes([&] { ex.run(w1_root(n)); }) / n;
            run_dynamic(
                s, ex, [n] { return w1_root(n); }, static_cast<std::size_t>(n), std::int64_t{n} * n);
        })->Arg(n);
    }
    benchmark::RegisterBenchmark("W2_spouses/dynamic", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        dyn::executor ex;
        run_dynamic(
            s, ex, [n] { return w2_root(n); }, static_cast<std::size_t>(3 * n), 2 * std::int64_t{n} * (n - 1));
    })->Arg(bench::w2_size);
    benchmark::RegisterBenchmark("W3_chain/dynamic", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        dyn::executor ex;
        run_dynamic(
            s, ex, [n] { return w3_chain(n); }, static_cast<std::size_t>(n), std::int64_t{n} * (n - 1));
    })->Arg(bench::w3_size);
    benchmark::RegisterBenchmark("W4_fib/dynamic", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        dyn::executor ex;
        run_dynamic(
            s, ex, [n] { return w4_fib(n); }, 12'541, 4181);
    })->Arg(bench::w4_depth);
    benchmark::RegisterBenchmark("W5_wide/dynamic", [](benchmark::State& s) {
        auto const n = static_cast<int>(s.range(0));
        dyn::executor ex;
        run_dynamic(
            s, ex, [n] { return w5_root(n); }, static_cast<std::size_t>(8 * n), 8 * std::int64_t{n} * (n - 1));
    })->Arg(bench::w5_size);
    return true;
}();

} // namespace
