// Against real servers, with the demo's program (examples/spouses: names in PostgreSQL, spouse
// ids in Redis). The servers are found through BATCH_POSTGRES and BATCH_REDIS: bench/run-stores
// (or scripts/stores -- BINARY ARGS...) starts a pair around the run.
//
// W2, spouses: N users in one run, naive (one query per item), batched with plain batchers
// (which block: each round waits for PostgreSQL, then Redis), and batched with the asynchronous
// store batchers (each round waits for both at once).
//
// W7, a service: N requests arrive at once, each the program for one user (two stores, two
// dependent rounds), served on one thread: `loop` on a batch::asio::loop (the batches of all
// requests merged), `per_request` on the same loop and connections with each request's batches
// sent as they are (what one executor per request sends), `naive` one request after another
// with one query per item. Reported: requests per second, and each request's latency from its
// arrival to its completion (p50, p99).
//
// W10, the Asio bridge's cost: N requests at once, each on an executor of its own under
// batch::asio::async_run, all sharing one connection to each store (their batches are not
// merged across requests), against `naive` as in W7. Reported: the process's CPU time per
// request; bench/syscalls counts the system calls per request of each (with strace).
#include <utility>

#include "blocking.hpp"

#include "graph.hpp"
#include "program.hpp"
#include "servers.hpp"

#include <batch/asio/async_run.hpp>
#include <batch/asio/loop.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <time.h>

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

using bench_clock = std::chrono::steady_clock;

/// Latencies of requests that all arrived at `start`, in milliseconds.
struct latencies {
    std::vector<double> ms;

    void add(bench_clock::time_point start) {
        ms.push_back(std::chrono::duration<double, std::milli>(bench_clock::now() - start).count());
    }

    double percentile(double p) {
        if (ms.empty()) return 0;
        auto const at = ms.begin() + static_cast<std::ptrdiff_t>(p * static_cast<double>(ms.size() - 1));
        std::nth_element(ms.begin(), at, ms.end());
        return *at;
    }
};

/// Requests per second over the wall-clock time of the timed iterations (the benchmarks do not
/// use UseRealTime, which would add "/real_time" to their names), and the latency percentiles.
void report_service(benchmark::State& state, latencies& l, double queries, bench_clock::duration wall) {
    auto const n = static_cast<double>(state.range(0));
    double const seconds = std::chrono::duration<double>(wall).count();
    state.counters["requests_per_second"] = static_cast<double>(state.iterations()) * n / seconds;
    state.counters["p50_ms"] = l.percentile(0.50);
    state.counters["p99_ms"] = l.percentile(0.99);
    state.counters["queries"] = queries / static_cast<double>(state.iterations());
}

/// W7 on a loop: all N requests submitted, then the loop runs until every one has completed.
void service_loop(benchmark::State& state, bool across_requests) {
    auto& s = servers::get();
    auto const n = state.range(0);
    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<ops>(io, postgres_names(s.pg), redis_spouses(s.rd));
    loop.batch_across_requests(across_requests);
    latencies l;
    std::int64_t wrong = 0;
    auto const serve = [&] {
        auto const start = bench_clock::now();
        for (std::int64_t id = 1; id <= n; ++id) {
            loop.async_run(gen_spouses(id), [&, start, id](std::exception_ptr e, couple const& c) {
                l.add(start);
                if (e || c.first.id != id) ++wrong;
            });
        }
        io.restart();
        io.run();
    };
    serve(); // connections and prepared statements warm up
    l.ms.clear();
    std::size_t const before = loop.stats().batches;
    bench_clock::duration wall{};
    for (auto _ : state) {
        auto const start = bench_clock::now();
        serve();
        wall += bench_clock::now() - start;
    }
    if (wrong != 0) state.SkipWithError("wrong result");
    report_service(state, l, static_cast<double>(loop.stats().batches - before), wall);
}

/// W7 naive: the N requests one after another, one query per item.
void service_naive(benchmark::State& state) {
    auto& s = servers::get();
    both_clients client{s.names, s.spouses};
    auto const n = state.range(0);
    latencies l;
    std::size_t const before = s.names.queries + s.spouses.queries;
    bench_clock::duration wall{};
    for (auto _ : state) {
        auto const start = bench_clock::now();
        for (std::int64_t id = 1; id <= n; ++id) {
            benchmark::DoNotOptimize(naive_spouses(client, id));
            l.add(start);
        }
        wall += bench_clock::now() - start;
    }
    report_service(state, l, static_cast<double>(s.names.queries + s.spouses.queries - before), wall);
}

/// The CPU time of the whole process (every thread), in seconds.
double process_cpu_seconds() {
    timespec t{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

/// W10 under async_run: an executor per request, one connection to each store between them.
void bridge_async_run(benchmark::State& state) {
    auto& s = servers::get();
    auto const n = state.range(0);
    using executor_t = decltype(batch::make_executor<ops>(postgres_names(s.pg), redis_spouses(s.rd)));
    std::vector<std::unique_ptr<executor_t>> executors;
    for (std::int64_t i = 0; i < n; ++i)
        executors.push_back(
            std::make_unique<executor_t>(batch::make_executor<ops>(postgres_names(s.pg), redis_spouses(s.rd))));
    boost::asio::io_context io;
    std::int64_t wrong = 0;
    auto const serve = [&] {
        for (std::int64_t id = 1; id <= n; ++id) {
            batch::asio::async_run(io, *executors[static_cast<std::size_t>(id - 1)], gen_spouses(id),
                                   [&, id](std::exception_ptr e, couple const& c) {
                                       if (e || c.first.id != id) ++wrong;
                                   });
        }
        io.restart();
        io.run();
    };
    serve(); // prepared statements, registrations
    double cpu = 0;
    for (auto _ : state) {
        double const before = process_cpu_seconds();
        serve();
        cpu += process_cpu_seconds() - before;
    }
    if (wrong != 0) state.SkipWithError("wrong result");
    state.counters["cpu_us_per_request"] =
        cpu * 1e6 / (static_cast<double>(state.iterations()) * static_cast<double>(n));
}

/// W10 naive: the requests one after another, one blocking query per item.
void bridge_naive(benchmark::State& state) {
    auto& s = servers::get();
    both_clients client{s.names, s.spouses};
    auto const n = state.range(0);
    for (std::int64_t id = 1; id <= n; ++id) benchmark::DoNotOptimize(naive_spouses(client, id)); // as above
    double cpu = 0;
    for (auto _ : state) {
        double const before = process_cpu_seconds();
        for (std::int64_t id = 1; id <= n; ++id) benchmark::DoNotOptimize(naive_spouses(client, id));
        cpu += process_cpu_seconds() - before;
    }
    state.counters["cpu_us_per_request"] =
        cpu * 1e6 / (static_cast<double>(state.iterations()) * static_cast<double>(n));
}

[[maybe_unused]] bool const registered = [] {
    benchmark::RegisterBenchmark("W10_bridge/async_run", bridge_async_run)->Arg(1'000)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("W10_bridge/naive", bridge_naive)->Arg(1'000)->Unit(benchmark::kMillisecond);
    for (std::int64_t n : {1'000, 10'000}) {
        benchmark::RegisterBenchmark("W7_service/loop", [](benchmark::State& state) { service_loop(state, true); })
            ->Arg(n)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark("W7_service/per_request",
                                     [](benchmark::State& state) { service_loop(state, false); })
            ->Arg(n)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark("W7_service/naive", service_naive)->Arg(n)->Unit(benchmark::kMillisecond);
    }
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
