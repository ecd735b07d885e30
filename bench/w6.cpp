// W6, two stores: each request needs one batch from each of two stores (a database and a
// cache, say) that answer after 1 ms over local TCP (test/socket_store.hpp: a server thread per
// store). With plain batchers, which block, a round waits for one store and then the other;
// with asynchronous batchers, for both at once. Reported: time per request for one request at
// a time and for 1,000 at once (one run), and the throughput of 1,000 concurrent requests,
// each its own run and executor, on one Boost.Asio thread against a thread per request.
#include <utility>

#include "blocking.hpp"
#include "socket_store.hpp"

#include <batch/asio/async_run.hpp>
#include <batch/batch.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <boost/hana/tuple.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

constexpr auto store_delay = 1ms;

struct get_row {
    int key;
    using result_type = int;
};
struct get_cached {
    int key;
    using result_type = int;
};
using ops = batch::operations<get_row, get_cached>;
template <class T>
using gen = batch::gen<T, ops>;

/// The two stores every W6 benchmark talks to.
struct stores {
    test::socket_store database{store_delay};
    test::socket_store cache{store_delay};

    static stores& get() {
        static stores s;
        return s;
    }
};

auto make_plain_executor() {
    auto& s = stores::get();
    return batch::make_executor<ops>(bench::blocking(test::store_batcher<get_row>(s.database, "database")),
                                     bench::blocking(test::store_batcher<get_cached>(s.cache, "cache")));
}

auto make_async_executor() {
    auto& s = stores::get();
    return batch::make_executor<ops>(test::store_batcher<get_row>(s.database, "database"),
                                     test::store_batcher<get_cached>(s.cache, "cache"));
}

using plain_executor = decltype(make_plain_executor());
using async_executor = decltype(make_async_executor());

gen<std::int64_t> request(int id) {
    auto [row, cached] = co_yield boost::hana::make_tuple(get_row{id}, get_cached{id});
    co_return std::int64_t{row} + cached;
}

gen<std::int64_t> requests(int n) {
    std::vector<gen<std::int64_t>> all;
    all.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) all.push_back(request(i));
    auto const values = co_yield std::move(all);
    std::int64_t sum = 0;
    for (auto v : values) sum += v;
    co_return sum;
}

/// `n` requests in one run (n = 1: one request at a time); reports the time per request.
template <class Executor>
void in_one_run(benchmark::State& state, Executor& ex) {
    int const n = static_cast<int>(state.range(0));
    std::int64_t const expected = 4 * std::int64_t{n} * (n - 1) / 2;
    if (ex.run(requests(n)) != expected) {
        state.SkipWithError("wrong result");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(ex.run(requests(n)));
    state.counters["ms_per_round"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["requests_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * n, benchmark::Counter::kIsRate);
    state.counters["calls"] = static_cast<double>(ex.stats().batches);
    state.counters["rounds"] = static_cast<double>(ex.stats().rounds);
}

/// 1,000 requests, each its own run on its own executor, on one Boost.Asio thread.
void concurrent_on_one_thread(benchmark::State& state) {
    int const n = static_cast<int>(state.range(0));
    test::allow_many_descriptors();
    std::vector<std::unique_ptr<async_executor>> executors;
    for (int i = 0; i < n; ++i) executors.push_back(std::make_unique<async_executor>(make_async_executor()));
    boost::asio::io_context io;
    std::int64_t sum = 0;
    int failures = 0;
    for (auto _ : state) {
        for (int i = 0; i < n; ++i) {
            batch::asio::async_run(io, *executors[static_cast<std::size_t>(i)], request(i),
                                   [&](std::exception_ptr e, std::int64_t v) {
                                       if (e) ++failures;
                                       sum += v;
                                   });
        }
        io.run();
        io.restart();
    }
    if (failures) state.SkipWithError("a request failed");
    state.counters["requests_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * n, benchmark::Counter::kIsRate);
    benchmark::DoNotOptimize(sum);
}

/// 1,000 requests, each its own run on its own executor with plain batchers, a thread each.
void thread_per_request(benchmark::State& state) {
    int const n = static_cast<int>(state.range(0));
    test::allow_many_descriptors();
    std::vector<std::unique_ptr<plain_executor>> executors;
    for (int i = 0; i < n; ++i) executors.push_back(std::make_unique<plain_executor>(make_plain_executor()));
    std::atomic<int> failures{0};
    for (auto _ : state) {
        std::vector<std::thread> threads;
        threads.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            threads.emplace_back([&, i] {
                if (executors[static_cast<std::size_t>(i)]->run(request(i)) != 4 * i) ++failures;
            });
        }
        for (auto& t : threads) t.join();
    }
    if (failures) state.SkipWithError("a request failed");
    state.counters["requests_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * n, benchmark::Counter::kIsRate);
}

[[maybe_unused]] bool const registered = [] {
    for (int n : {1, 1000}) {
        benchmark::RegisterBenchmark("W6_two_stores/plain",
                                     [](benchmark::State& s) {
                                         auto ex = make_plain_executor();
                                         in_one_run(s, ex);
                                     })
            ->Arg(n)
            ->UseRealTime();
        benchmark::RegisterBenchmark("W6_two_stores/async",
                                     [](benchmark::State& s) {
                                         auto ex = make_async_executor();
                                         in_one_run(s, ex);
                                     })
            ->Arg(n)
            ->UseRealTime();
    }
    benchmark::RegisterBenchmark("W6_two_stores/concurrent_asio_one_thread", concurrent_on_one_thread)
        ->Arg(1000)
        ->UseRealTime();
    benchmark::RegisterBenchmark("W6_two_stores/concurrent_thread_per_request", thread_per_request)
        ->Arg(1000)
        ->UseRealTime();
    return true;
}();

} // namespace
