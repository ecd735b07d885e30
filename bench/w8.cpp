// W8, a slow and a fast store: one answers after 10 ms, the other after 1 ms (local TCP,
// test/support/socket_store.hpp). A request runs two chains of four steps at once, each step
// yielding to the other store than the last: one chain starts slow, the other fast. In rounds,
// every step waits for the slow store (4 rounds of 10 ms); in completion order, each chain
// steps on when its own batch is in (each chain about 2 x 10 + 2 x 1 ms). Reported: the time of
// one request, batcher calls and rounds. The runs wait by spinning on poll(2) with no timeout
// (both modes alike), so that their CPU time is their wall time: Google Benchmark then sizes
// the runs by it without UseRealTime, which would add "/real_time" to the names.
#include <utility>

#include "socket_store.hpp"

#include <batch/batch.hpp>

#include <benchmark/benchmark.h>
#include <boost/hana/tuple.hpp>

#include <poll.h>

#include <chrono>
#include <tuple>
#include <vector>

namespace {

using namespace std::chrono_literals;

struct get_slow {
    int key;
    using result_type = int;
};
struct get_fast {
    int key;
    using result_type = int;
};
using ops = batch::operations<get_slow, get_fast>;
template <class T>
using gen = batch::gen<T, ops>;

gen<int> chain(int key, bool slow_first) {
    for (int step = 0; step < 4; ++step) {
        bool const slow = (step % 2 == 0) == slow_first;
        key = slow ? co_yield get_slow{key} : co_yield get_fast{key};
        key = key / 2 + 1;
    }
    co_return key;
}

gen<int> request(int key) {
    auto const [a, b] = co_yield boost::hana::make_tuple(chain(key, true), chain(key, false));
    co_return a + b;
}

/// `ex.run(x)`, spinning on poll(2) instead of sleeping in it.
template <class Executor, class Yielded>
auto spin_run(Executor& ex, Yielded&& x) {
    batch::active_run run(ex, std::forward<Yielded>(x));
    std::vector<pollfd> fds;
    while (!run.step()) {
        for (;;) {
            fds.clear();
            for (auto const& w : run.waits()) fds.push_back({w.fd, w.events, 0});
            if (::poll(fds.data(), fds.size(), 0) > 0) break;
        }
        for (auto const& p : fds) {
            if (p.revents != 0) run.ready(p.fd, p.revents);
        }
    }
    return run.result();
}

void slow_fast(benchmark::State& state, batch::scheduling how) {
    static test::socket_store slow{10ms};
    static test::socket_store fast{1ms};
    auto ex = batch::make_executor<ops>(test::store_batcher<get_slow>(slow, "slow"),
                                        test::store_batcher<get_fast>(fast, "fast"));
    ex.set_scheduling(how);
    if (spin_run(ex, request(7)) != 2 * (7 + 4)) {
        state.SkipWithError("wrong result");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(spin_run(ex, request(7)));
    state.counters["calls"] = static_cast<double>(ex.stats().batches);
    state.counters["rounds"] = static_cast<double>(ex.stats().rounds);
}

[[maybe_unused]] bool const registered = [] {
    benchmark::RegisterBenchmark("W8_slow_fast/completion", [](benchmark::State& s) {
        slow_fast(s, batch::scheduling::completion_order);
    })->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("W8_slow_fast/rounds", [](benchmark::State& s) {
        slow_fast(s, batch::scheduling::rounds);
    })->Unit(benchmark::kMillisecond);
    return true;
}();

} // namespace
