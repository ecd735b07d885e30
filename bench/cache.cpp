// What a cache hit costs with each cache policy: W3's chain of 20,000 sequential yields, run
// again and again on one executor, so that after the checked warm-up run every yield is a hit
// (answered at once, no round, no batcher call). `W3_chain/typed` is the same program without
// a cache, each yield a round of its own.
#include "common.hpp"
#include "workloads.hpp"

#include <batch/batch.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <time.h>

namespace {

/// A user's own policy: results in a vector indexed by the key (which must be small and
/// non-negative), the fastest cache for dense integer keys.
template <class Op, class Entry>
class dense_map {
public:
    [[nodiscard]] Entry const* find(Op const& op) const {
        auto const k = static_cast<std::size_t>(op.key);
        return k < entries_.size() && entries_[k] ? &*entries_[k] : nullptr;
    }
    void insert_or_assign(Op const& op, Entry e) {
        auto const k = static_cast<std::size_t>(op.key);
        if (k >= entries_.size()) entries_.resize(k + 1);
        entries_[k].emplace(std::move(e));
    }
    bool erase(Op const& op) {
        auto const k = static_cast<std::size_t>(op.key);
        return k < entries_.size() && std::exchange(entries_[k], std::nullopt).has_value();
    }
    void clear() noexcept { entries_.clear(); }

private:
    std::vector<std::optional<Entry>> entries_;
};
struct dense_cache {
    template <class Op, class Entry>
    using cache = dense_map<Op, Entry>;
};

/// A steady clock that reads Linux's `CLOCK_MONOTONIC_COARSE`: a few ns instead of a precise
/// clock's ~15-25, at the price of its resolution (a few ms), ample for expiry times of seconds.
struct coarse_clock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<coarse_clock>;
    static constexpr bool is_steady = true;
    static time_point now() noexcept {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
    }
};

/// W3's `get`, cached with `Policy` (`void`: `cacheable`, today's unbounded cache).
template <class Policy>
struct cached_get {
    int key;
    using result_type = int;
    using cache_policy = Policy;
    bool operator==(cached_get const&) const = default;
};
template <>
struct cached_get<void> {
    int key;
    using result_type = int;
    static constexpr bool cacheable = true;
    bool operator==(cached_get const&) const = default;
};

} // namespace

template <class Policy>
struct std::hash<cached_get<Policy>> {
    std::size_t operator()(cached_get<Policy> const& g) const noexcept { return std::hash<int>{}(g.key); }
};

namespace {

/// The world of `bench::w3_chain` with one cached operation type.
template <class Policy>
struct cached_world {
    using op = cached_get<Policy>;
    template <class T>
    using gen = batch::gen<T, batch::operations<op>>;
    static op get(int key) { return {key}; }
};

template <class Policy>
void chain_of_hits(benchmark::State& state) {
    using world = cached_world<Policy>;
    auto const n = static_cast<int>(state.range(0));
    auto ex = batch::make_executor<batch::operations<typename world::op>>(bench::get_batcher{});
    bench::measure(
        state, static_cast<std::size_t>(n), std::int64_t{n} * (n - 1),
        [&] { return ex.run(bench::w3_chain<world>(n)); }, [&] { return ex.stats().batches; },
        [&] { return ex.stats().rounds; });
    state.counters["hits"] = static_cast<double>(ex.stats().cache_hits);
}

using an_hour = std::chrono::hours;

[[maybe_unused]] bool const registered = [] {
    // Bounds above the chain's 20,000 keys: nothing is evicted, and nothing expires in an hour.
    benchmark::RegisterBenchmark("cache_hit/unbounded", chain_of_hits<void>)->Arg(bench::w3_size);
    benchmark::RegisterBenchmark("cache_hit/lru", chain_of_hits<batch::lru_cache<32'768>>)->Arg(bench::w3_size);
    benchmark::RegisterBenchmark("cache_hit/expiring", chain_of_hits<batch::expiring_cache<an_hour, 1>>)
        ->Arg(bench::w3_size);
    benchmark::RegisterBenchmark("cache_hit/expiring_lru", chain_of_hits<batch::expiring_cache<an_hour, 1, 32'768>>)
        ->Arg(bench::w3_size);
    benchmark::RegisterBenchmark("cache_hit/expiring_coarse_clock",
                                 chain_of_hits<batch::expiring_cache<an_hour, 1, 0, coarse_clock>>)
        ->Arg(bench::w3_size);
    benchmark::RegisterBenchmark("cache_hit/dense_user_policy", chain_of_hits<dense_cache>)->Arg(bench::w3_size);
    return true;
}();

} // namespace
