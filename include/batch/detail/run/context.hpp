#pragma once

#include <batch/detail/base/fwd.hpp>
#include <batch/detail/run/bucket.hpp>
#include <batch/detail/run/scheduler.hpp>
#include <batch/operation.hpp>
#include <batch/operation_set.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

namespace batch::detail {

/// What a generator over something that is not an operation set would run in (after
/// `batch::gen` has reported it): a scheduler with no buckets, so that one mistake gives one error.
template <class Ops>
class context : public scheduler {
public:
    void clear_buckets() noexcept {}
};

/// What a generator over `operations<Ops...>` runs in: the scheduler, plus one statically typed
/// bucket per operation type, in the order of `Ops`, and which of them hold operations (so
/// that a round looks at those only).
template <class... Ops>
class context<operations<Ops...>> : public scheduler {
public:
    /// A set of operation types: bit `i % 64` of word `i / 64` for the type of index `i`.
    using type_set = std::array<std::uint64_t, (sizeof...(Ops) + 63) / 64>;

    [[nodiscard]] static constexpr bool contains(type_set const& set, std::size_t i) noexcept {
        return (set[i / 64] & bit(i)) != 0;
    }

    /// True when the type of index `i` is the last one in `set` (which contains it).
    [[nodiscard]] static constexpr bool last_in(type_set const& set, std::size_t i) noexcept {
        for (std::size_t w = i / 64 + 1; w < set.size(); ++w) {
            if (set[w]) return false;
        }
        return (set[i / 64] >> (i % 64)) <= 1;
    }

    /// An operation of type `Op` was added to its bucket (one instruction: an `or` to memory).
    template <class Op>
    BATCH_HOT void added() noexcept {
        constexpr std::size_t i = operations<Ops...>::template index_of<Op>;
        pending_types_[i / 64] |= bit(i);
    }

    /// The types with pending operations, to dispatch in this round; the set starts over empty,
    /// and collects the types of the operations yielded from now on.
    [[nodiscard]] type_set take_pending_types() noexcept { return std::exchange(pending_types_, type_set{}); }

    template <class Op>
    bucket<Op>& bucket_for() noexcept {
        return std::get<operations<Ops...>::template index_of<Op>>(buckets_);
    }
    template <class Op>
    bucket<Op> const& bucket_for() const noexcept {
        return std::get<operations<Ops...>::template index_of<Op>>(buckets_);
    }

    /// True when no operation is pending.
    [[nodiscard]] bool idle() const noexcept {
        for (auto const word : pending_types_) {
            if (word) return false;
        }
        return true;
    }

    /// How far the ready queue and each bucket are filled; a failed enrolment truncates to it.
    struct fill_mark {
        std::size_t ready;
        std::array<std::size_t, sizeof...(Ops)> buckets;
    };

    [[nodiscard]] fill_mark mark() const noexcept {
        return {
            ready_size(),
            std::apply([](auto const&... b) { return std::array<std::size_t, sizeof...(Ops)>{b.pending.size()...}; },
                       buckets_)};
    }

    void rollback(fill_mark const& m) noexcept {
        truncate_ready(m.ready);
        std::size_t i = 0;
        for_each_bucket([&](auto& b) {
            b.pending.truncate(m.buckets[i]);
            if (b.empty()) pending_types_[i / 64] &= ~bit(i);
            ++i;
        });
    }

    /// Starts a run: the scheduler's part, and each type's counters (the evictions and expiries
    /// of the caches counted from now).
    void begin_run() {
        scheduler::begin_run();
        for_each_bucket([](auto& b) {
            b.stats = {};
            b.cache.start_counting();
        });
    }

    /// Counts in the stats what the cache of `Op` has evicted or dropped as expired since the
    /// last count.
    template <class Op>
    void count_cache_losses() noexcept {
        auto& b = bucket_for<Op>();
        b.cache.count_losses(*this, b.stats);
    }

    /// Drops every pending operation (their generators are about to go).
    void clear_buckets() noexcept {
        for_each_bucket([](auto& b) { b.clear(); });
        pending_types_ = {};
    }

    /// Forgets every remembered result of the cacheable operation types.
    void clear_caches() noexcept {
        for_each_bucket([](auto& b) { b.cache.clear(); });
    }

private:
    /// The bit of the type of index `i` in its word of a `type_set` (word `i / 64`).
    [[nodiscard]] static constexpr std::uint64_t bit(std::size_t i) noexcept { return std::uint64_t{1} << (i % 64); }

    template <class F>
    void for_each_bucket(F&& f) noexcept {
        std::apply([&](auto&... b) { (f(b), ...); }, buckets_);
    }

    std::tuple<bucket<Ops>...> buckets_;
    type_set pending_types_{}; ///< The types whose pending call is not empty.
};

} // namespace batch::detail
