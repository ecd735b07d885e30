#pragma once

#include <batch/detail/fwd.hpp>
#include <batch/detail/scheduler.hpp>
#include <batch/operation.hpp>
#include <batch/stats.hpp>

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace batch::detail {

template <class Op>
struct presumed_operation_result {
    using type = void;
};
template <operation Op>
struct presumed_operation_result<Op> {
    using type = result_of_t<Op>;
};

/// The pending operations of one type for the current round, parallel to their targets.
template <class Op>
struct bucket {
    // A type that is not an operation has already been reported by batch::operations.
    using stored = stored_t<typename presumed_operation_result<Op>::type>;
    using operation = Op;
    using stored_target = target<stored>;

    std::vector<Op> ops;
    std::vector<target<stored>> targets;
    std::vector<Op> flight_ops; ///< The batch being dispatched; kept to reuse its capacity.
    std::vector<target<stored>> flight_targets;
    operation_stats stats;

    /// Working space for merging identical operations, kept to reuse its capacity.
    struct merge_space {
        std::vector<std::size_t> table; ///< Open addressing: 1 + index into `first`, or 0.
        std::vector<std::size_t> which; ///< For each operation, its distinct value.
        std::vector<std::size_t> first; ///< For each distinct value, its first operation.
        std::vector<std::size_t> fill;
    };
    struct no_merge_space {};
    [[no_unique_address]] std::conditional_t<deduplicates_v<Op>, merge_space, no_merge_space> merging;

    /// Results remembered across runs, for a cacheable operation type.
    struct no_cache {};
    [[no_unique_address]] std::conditional_t<caches_v<Op>, std::unordered_map<Op, stored>, no_cache> cache;

    template <class O>
    void push(O&& op, target<stored> t) {
        ops.push_back(std::forward<O>(op));
        try {
            targets.push_back(t);
        } catch (...) {
            ops.pop_back();
            throw;
        }
    }

    [[nodiscard]] bool empty() const noexcept { return ops.empty(); }

    void truncate(std::size_t n) noexcept {
        while (ops.size() > n) ops.pop_back();
        targets.resize(n);
    }

    void clear() noexcept {
        ops.clear();
        targets.clear();
        flight_ops.clear();
        flight_targets.clear();
    }
};

/// The scheduler plus one statically typed bucket per operation type, in the order of Ops.
template <class... Ops>
class context<operations<Ops...>> : public scheduler {
public:
    template <class Op>
    bucket<Op>& bucket_for() noexcept {
        return std::get<operations<Ops...>::template index_of<Op>>(buckets_);
    }

    [[nodiscard]] bool idle() const noexcept { return (std::get<bucket<Ops>>(buckets_).empty() && ...); }

    /// How far the ready queue and each bucket are filled; a failed enrolment truncates to it.
    struct fill_mark {
        std::size_t ready;
        std::array<std::size_t, sizeof...(Ops)> buckets;
    };

    [[nodiscard]] fill_mark mark() const noexcept {
        return {ready_size(), {std::get<bucket<Ops>>(buckets_).ops.size()...}};
    }

    void rollback(fill_mark const& m) noexcept {
        truncate_ready(m.ready);
        std::size_t i = 0;
        ((std::get<bucket<Ops>>(buckets_).truncate(m.buckets[i++])), ...);
    }

protected:
    void clear_buckets() noexcept { (std::get<bucket<Ops>>(buckets_).clear(), ...); }

    void reset_bucket_stats() noexcept { ((std::get<bucket<Ops>>(buckets_).stats = {}), ...); }

    void clear_caches() noexcept {
        auto clear = [](auto& b) {
            if constexpr (caches_v<typename std::remove_reference_t<decltype(b)>::operation>) b.cache.clear();
        };
        (clear(std::get<bucket<Ops>>(buckets_)), ...);
    }

    std::tuple<bucket<Ops>...> buckets_;
};

} // namespace batch::detail
