// W2, spouses, against real servers: the demo's program (examples/spouses: names in PostgreSQL,
// spouse ids in Redis) for N users at once, naive (one query per item), batched with plain
// batchers (which block: each round waits for PostgreSQL, then Redis), and batched with the
// asynchronous store batchers (each round waits for both at once). The servers are found
// through BATCH_POSTGRES and BATCH_REDIS: bench/run-stores starts a pair and runs this.
#include "blocking.hpp"

#include "graph.hpp"
#include "program.hpp"
#include "servers.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace demo;

/// The servers, loaded once with the largest graph.
struct servers {
    std::string postgres = where("BATCH_POSTGRES");
    std::string redis = where("BATCH_REDIS");
    postgres_client names{postgres};
    redis_client spouses{redis};
    batch::postgres::connection pg{postgres};
    batch::redis::connection rd{redis};

    servers() {
        graph const g(10'000);
        names.load(g);
        spouses.load(g);
    }

    static std::string where(char const* variable) {
        char const* v = std::getenv(variable);
        if (!v) throw std::runtime_error(std::string(variable) + " is not set: run bench/run-stores");
        return v;
    }

    static servers& get() {
        static servers s;
        return s;
    }
};

gen<std::size_t> all_spouses(std::int64_t n) {
    std::vector<gen<couple>> gens;
    gens.reserve(static_cast<std::size_t>(n));
    for (std::int64_t id = 1; id <= n; ++id) gens.push_back(gen_spouses(id));
    auto const couples = co_yield std::move(gens);
    std::size_t married = 0;
    for (auto const& c : couples) married += c.second.has_value();
    co_return married;
}

void report(benchmark::State& state, std::size_t queries, std::size_t rounds) {
    auto const n = static_cast<double>(state.range(0));
    // Seconds per request, which Google Benchmark prints with an SI prefix (171us: 0.171 ms).
    state.counters["time_per_request"] = benchmark::Counter(static_cast<double>(state.iterations()) * n,
                                                            benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["queries"] = static_cast<double>(queries);
    state.counters["rounds"] = static_cast<double>(rounds);
}

template <class Executor>
void batched(benchmark::State& state, Executor& ex) {
    auto const n = state.range(0);
    if (ex.run(all_spouses(n)) != static_cast<std::size_t>(n)) state.SkipWithError("wrong result");
    for (auto _ : state) benchmark::DoNotOptimize(ex.run(all_spouses(n)));
    report(state, ex.stats().batches, ex.stats().rounds);
}

void naive(benchmark::State& state) {
    auto& s = servers::get();
    both_clients client{s.names, s.spouses};
    auto const n = state.range(0);
    std::size_t queries = 0;
    for (auto _ : state) {
        std::size_t const before = s.names.queries + s.spouses.queries;
        for (std::int64_t id = 1; id <= n; ++id) benchmark::DoNotOptimize(naive_spouses(client, id));
        queries = s.names.queries + s.spouses.queries - before;
    }
    report(state, queries, 0);
}

[[maybe_unused]] bool const registered = [] {
    for (std::int64_t n : {1'000, 10'000}) {
        benchmark::RegisterBenchmark("W2_stores/naive", naive)->Arg(n)->UseRealTime()->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark("W2_stores/plain",
                                     [](benchmark::State& state) {
                                         auto& s = servers::get();
                                         auto ex = batch::make_executor<ops>(bench::blocking(postgres_names(s.pg)),
                                                                             bench::blocking(redis_spouses(s.rd)));
                                         batched(state, ex);
                                     })
            ->Arg(n)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark("W2_stores/async",
                                     [](benchmark::State& state) {
                                         auto& s = servers::get();
                                         auto ex = batch::make_executor<ops>(postgres_names(s.pg), redis_spouses(s.rd));
                                         batched(state, ex);
                                     })
            ->Arg(n)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
    return true;
}();

} // namespace

BENCHMARK_MAIN();
