// W9, a batch over a cluster: one batch of N GETs through batch::redis::cluster_get on a local
// Redis Cluster of 3 masters (scripts/stores -- starts one; found through BATCH_REDIS_CLUSTER),
// with the keys spread over the masters' slots (`three_masters`) or, through a hash tag, all in
// one slot of one master (`one_master`): the same batcher and code, one part against three sent
// in parallel. Reported: the time of a batch, the masters it touched, and GETs per second.
#include <utility>

#include <batch/batch.hpp>
#include <batch/stores/redis/cluster.hpp>

#include <benchmark/benchmark.h>

#include <poll.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace rd = batch::redis;

struct get_value {
    std::string key;
    using result_type = std::optional<std::string>;
};
using ops = batch::operations<get_value>;

std::string key(bool one_slot, std::int64_t i) {
    return (one_slot ? std::string("{w9}") : std::string("w9:")) + std::to_string(i);
}

/// The cluster, loaded once with both key sets.
struct loaded_cluster {
    rd::cluster c{where()};

    loaded_cluster() {
        for (bool one_slot : {false, true}) {
            std::map<rd::connection*, std::vector<std::vector<std::string>>> by_node;
            for (std::int64_t i = 0; i < 10'000; ++i) {
                auto const k = key(one_slot, i);
                by_node[&c.master_of(rd::slot_of(k))].push_back({"SET", k, std::to_string(i)});
            }
            for (auto& [conn, commands] : by_node) {
                auto const n = conn->send(commands);
                while (!conn->answered(n)) {
                    auto const want = conn->interest();
                    pollfd p{want.fd, want.events, 0};
                    ::poll(&p, 1, 5000);
                    conn->pump(p.revents);
                }
                static_cast<void>(conn->take(n));
            }
        }
    }

    static std::string where() {
        char const* v = std::getenv("BATCH_REDIS_CLUSTER");
        if (!v) throw std::runtime_error("BATCH_REDIS_CLUSTER is not set: run scripts/stores -- BINARY");
        return v;
    }

    static loaded_cluster& get() {
        static loaded_cluster l;
        return l;
    }
};

void batch_over_cluster(benchmark::State& state, bool one_slot) {
    auto& l = loaded_cluster::get();
    auto ex = batch::make_executor<ops>(rd::cluster_get<get_value>(l.c, &get_value::key));
    auto const n = state.range(0);
    std::vector<get_value> gets;
    std::set<rd::connection const*> masters; // the masters the batch touches
    for (std::int64_t i = 0; i < n; ++i) {
        gets.push_back({key(one_slot, i)});
        masters.insert(&l.c.master_of(rd::slot_of(gets.back().key)));
    }
    auto const first = ex.run(gets);
    for (std::int64_t i = 0; i < n; ++i) {
        if (first[static_cast<std::size_t>(i)] != std::to_string(i)) {
            state.SkipWithError("wrong result");
            return;
        }
    }
    for (auto _ : state) benchmark::DoNotOptimize(ex.run(gets));
    state.counters["masters"] = static_cast<double>(masters.size());
    state.counters["calls"] = static_cast<double>(ex.stats().batches);
    state.counters["gets_per_second"] =
        benchmark::Counter(static_cast<double>(state.iterations() * n), benchmark::Counter::kIsRate);
}

[[maybe_unused]] bool const registered = [] {
    benchmark::RegisterBenchmark("W9_cluster/one_master", [](benchmark::State& s) { batch_over_cluster(s, true); })
        ->Arg(10'000)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("W9_cluster/three_masters", [](benchmark::State& s) { batch_over_cluster(s, false); })
        ->Arg(10'000)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    return true;
}();

} // namespace
