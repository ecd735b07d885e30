#pragma once

// --concurrent N: a service's view. N requests arrive at once, each gen_spouses for one user,
// served on one thread three ways: on a batch::asio::loop (the batches of all requests merged:
// one query per operation type and round for all of them), on the same loop with each
// request's batches sent as they are (what one executor per request sends), and naively, one
// request after another with one query per item. Printed: queries, requests per second, and
// each request's latency from its arrival to its answer (p50, p99).

#include "program.hpp"
#include "servers.hpp"

#include <batch/asio/loop.hpp>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace demo {

/// What serving N requests one way took (the median run of three).
struct service_run {
    std::size_t queries = 0;
    double ms = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    bool right = true; ///< Every request gave the naive answer.
};

/// Latencies in ms of requests that arrived together, and the run's total.
class latency_log {
public:
    explicit latency_log(std::size_t n) : start_(std::chrono::steady_clock::now()) { ms_.reserve(n); }
    void done() { ms_.push_back(since_start()); }
    [[nodiscard]] double since_start() const {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    }
    [[nodiscard]] double percentile(double p) {
        std::sort(ms_.begin(), ms_.end());
        return ms_.empty() ? 0 : ms_[static_cast<std::size_t>(p * static_cast<double>(ms_.size() - 1))];
    }

private:
    std::chrono::steady_clock::time_point start_;
    std::vector<double> ms_;
};

inline std::int64_t user_of(std::int64_t request, std::int64_t users) { return 1 + request % users; }

/// Runs `once()` (which gives a service_run) three times and keeps the median by time.
template <class Once>
service_run median_of_three(Once&& once) {
    std::vector<service_run> runs;
    for (int i = 0; i < 3; ++i) runs.push_back(once());
    std::sort(runs.begin(), runs.end(), [](auto const& a, auto const& b) { return a.ms < b.ms; });
    bool const right = std::all_of(runs.begin(), runs.end(), [](auto const& r) { return r.right; });
    service_run median = runs[1];
    median.right = right;
    return median;
}

/// N requests on `loop`, whose batches are merged across requests or not.
template <class Loop>
service_run serve_on_loop(Loop& loop, boost::asio::io_context& io, std::int64_t n, std::int64_t users,
                          std::vector<couple> const& want) {
    service_run run;
    std::size_t const before = loop.stats().batches;
    latency_log log(static_cast<std::size_t>(n));
    for (std::int64_t r = 0; r < n; ++r) {
        loop.async_run(gen_spouses(user_of(r, users)), [&, r](std::exception_ptr e, couple const& c) {
            log.done();
            if (e || c != want[static_cast<std::size_t>(r)]) run.right = false;
        });
    }
    io.restart();
    io.run();
    run.ms = log.since_start();
    run.queries = loop.stats().batches - before;
    run.p50_ms = log.percentile(0.5);
    run.p99_ms = log.percentile(0.99);
    return run;
}

/// N requests one after another, one query per item.
template <class Naive, class Queries>
service_run serve_naively(Naive& naive, Queries&& queries, std::int64_t n, std::int64_t users,
                          std::vector<couple>& answers) {
    service_run run;
    std::size_t const before = queries();
    latency_log log(static_cast<std::size_t>(n));
    answers.clear();
    for (std::int64_t r = 0; r < n; ++r) {
        answers.push_back(naive_spouses(naive, user_of(r, users)));
        log.done();
    }
    run.ms = log.since_start();
    run.queries = queries() - before;
    run.p50_ms = log.percentile(0.5);
    run.p99_ms = log.percentile(0.99);
    return run;
}

inline void print_service_run(char const* how, service_run const& r, std::int64_t n) {
    std::printf("  %-34s %7zu queries %9.1f ms %10.0f requests/s   p50 %8.2f ms   p99 %8.2f ms\n", how, r.queries, r.ms,
                static_cast<double>(n) / (r.ms / 1000), r.p50_ms, r.p99_ms);
}

/// --concurrent N against PostgreSQL (names) and Redis (spouse ids); true when every way gave
/// the naive answers.
template <class Naive, class Queries>
bool serve_concurrently(batch::postgres::connection& pg, batch::redis::connection& rd, Naive& naive, Queries&& queries,
                        std::int64_t n, std::int64_t users) {
    std::printf("\n%lld requests at once, each gen_spouses for one user, on one thread (median of 3 runs):\n",
                static_cast<long long>(n));
    std::vector<couple> want;
    serve_naively(naive, queries, std::min<std::int64_t>(n, 1), users, want); // warm up
    auto const naive_run = median_of_three([&] { return serve_naively(naive, queries, n, users, want); });

    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<ops>(io, postgres_names(pg), redis_spouses(rd));
    serve_on_loop(loop, io, std::min<std::int64_t>(n, 10), users, want); // warm up
    auto const merged = median_of_three([&] { return serve_on_loop(loop, io, n, users, want); });
    loop.batch_across_requests(false);
    auto const apart = median_of_three([&] { return serve_on_loop(loop, io, n, users, want); });

    print_service_run("batch::asio::loop (merged):", merged, n);
    print_service_run("one executor per request:", apart, n);
    print_service_run("naive, one request at a time:", naive_run, n);
    std::printf("  the loop serves %.1fx the requests per second of executors per request, %.1fx naive's\n",
                apart.ms / merged.ms, naive_run.ms / merged.ms);
    return merged.right && apart.right;
}

} // namespace demo
