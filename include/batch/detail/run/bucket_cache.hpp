#pragma once

#include <batch/cache.hpp>
#include <batch/detail/run/scheduler.hpp>
#include <batch/operation_set.hpp>
#include <batch/stats.hpp>

#include <cstddef>
#include <exception>
#include <type_traits>
#include <utility>

namespace batch::detail {

/// What an operation type's bucket remembers across runs, for a cached type (see cache.hpp),
/// behind the few calls the run makes: `answer` at enrolment (a hit needs no batcher call),
/// `remember` and `remember_failure` at delivery, `count_losses` after a batch, and the
/// executor's `store` and `forget` (prime, prime_error, forget). A type that is not cached (or
/// that `batch::operations` has reported as unusable) gets the empty one: every call does
/// nothing, and `enabled` is false.
template <class Op, bool = caches_v<Op>&& usable_operation<Op>>
class bucket_cache {
public:
    static constexpr bool enabled = false;

    template <class Target>
    bool answer(Op const&, Target const&, scheduler&, operation_stats&) noexcept {
        return false;
    }
    template <class Value>
    void remember(Op const&, Value const&) noexcept {}
    void remember_failure(Op const&, std::exception_ptr const&) noexcept {}
    void start_counting() noexcept {}
    void count_losses(scheduler&, operation_stats&) noexcept {}
    void clear() noexcept {}
};

template <class Op>
class bucket_cache<Op, true> {
    using entry = cache_entry_t<Op>;
    using stored = stored_t<result_of_t<Op>>;
    using cache_type = cache_t<Op>;

    // The evictions and expiries of the cache that the stats have counted, where it counts them.
    static constexpr bool counts = requires(cache_type const& c) {
        c.evictions();
        c.expiries();
    };
    struct counted_t {
        std::size_t evictions = 0;
        std::size_t expiries = 0;
    };
    struct not_counted {};

public:
    static constexpr bool enabled = true;

    /// Answers `op` from the cache into `t` and counts a hit; false when it keeps nothing for it.
    bool answer(Op const& op, target<stored> const& t, scheduler& sched, operation_stats& stats) {
        auto const* hit = cache_.find(op);
        if (!hit) return false;
        if constexpr (caches_failures_v<Op>) {
            if (auto e = hit->error()) {
                t.put_error(std::move(e));
            } else {
                t.put_value(hit->value());
            }
        } else {
            t.put_value(*hit);
        }
        sched.cache_hit(stats);
        return true;
    }

    /// Keeps the result a batcher gave for `op`; one that cannot be kept is still delivered.
    template <class Value>
    void remember(Op const& op, Value const& value) noexcept {
        try {
            cache_.insert_or_assign(op, entry(stored(value)));
        } catch (...) {
        }
    }

    /// Keeps the failure of `op`, for a type whose cache keeps failures.
    void remember_failure(Op const& op, std::exception_ptr const& e) noexcept {
        if constexpr (caches_failures_v<Op>) {
            try {
                cache_.insert_or_assign(op, entry(e));
            } catch (...) {
            }
        }
    }

    /// Keeps `e` for `op` (a prime): replaces what is kept only when `replace`; returns whether
    /// it stored it.
    bool store(Op const& op, entry&& e, bool replace) {
        if (!replace && cache_.find(op)) return false;
        cache_.insert_or_assign(op, std::move(e));
        return true;
    }

    /// Forgets `op`; returns whether something was kept.
    bool forget(Op const& op) { return cache_.erase(op); }

    /// The stats count evictions and expiries from now (a run begins).
    void start_counting() noexcept {
        if constexpr (counts) counted_ = {cache_.evictions(), cache_.expiries()};
    }

    /// Counts in `stats` what the cache has evicted or dropped as expired since the last count.
    void count_losses(scheduler& sched, operation_stats& stats) noexcept {
        if constexpr (counts) {
            std::size_t const evictions = cache_.evictions(), expiries = cache_.expiries();
            sched.cache_lost(stats, evictions - counted_.evictions, expiries - counted_.expiries);
            counted_ = {evictions, expiries};
        }
    }

    void clear() noexcept { cache_.clear(); }

    /// The cache itself, of the type the policy names (`ex.cache_of<Op>()`).
    cache_type& policy_cache() noexcept { return cache_; }

private:
    cache_type cache_;
    [[no_unique_address]] std::conditional_t<counts, counted_t, not_counted> counted_;
};

} // namespace batch::detail
