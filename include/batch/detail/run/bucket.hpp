#pragma once

#include <batch/cache.hpp>
#include <batch/detail/run/batch_call.hpp>
#include <batch/detail/run/bucket_cache.hpp>
#include <batch/detail/run/merge.hpp>
#include <batch/operation.hpp>
#include <batch/operation_set.hpp>
#include <batch/stats.hpp>

#include <type_traits>
#include <utility>

namespace batch::detail {

/// What a bucket stores per result: the operation's stored result, or `unit` for a type that
/// `batch::operations` has already reported as unusable (so that one mistake gives one error).
template <class Op, bool = usable_operation<Op>>
struct bucket_result {
    using type = unit;
};
template <class Op>
struct bucket_result<Op, true> {
    using type = stored_t<result_of_t<Op>>;
};

/// The pending operations of one type, and what the type keeps from round to round.
template <class Op>
struct bucket {
    using stored = typename bucket_result<Op>::type;
    using call_type = batch_call<Op, stored, deduplicates_v<Op>>;
    using operation = Op;

    call_type pending;     ///< The operations yielded in this round.
    call_type dispatching; ///< The call being dispatched; kept so that the next round reuses its capacity.
    operation_stats stats;

    struct no_merge_space {};
    [[no_unique_address]] std::conditional_t<deduplicates_v<Op>, merge_space, no_merge_space> merging;

    /// Results remembered across runs, for a cached operation type.
    [[no_unique_address]] bucket_cache<Op> cache;

    [[nodiscard]] bool empty() const noexcept { return pending.empty(); }

    /// This round's operations, as one call to dispatch; the bucket starts over with the
    /// capacity of the last one. A dispatch that must keep the call (for a generator batcher)
    /// moves it away; `end_dispatch` empties whatever is left.
    call_type& take() noexcept {
        pending.swap(dispatching);
        return dispatching;
    }
    void end_dispatch() noexcept { dispatching.clear(); }

    void clear() noexcept {
        pending.clear();
        dispatching.clear();
    }
};

} // namespace batch::detail
