#pragma once

#include <batch/detail/base/traits.hpp>
#include <batch/operation_set.hpp>
#include <batch/stats.hpp>

namespace batch::detail {

// The misuses of an executor that only its facade can see, each reported with one error that
// names the fix; what follows the error compiles, so that one mistake gives one error.

/// `make_executor<Ops>` was given something that is not a typed operation set.
template <class Ops>
constexpr bool report_not_an_operation_set() {
    if constexpr (runtime_typed_operations<Ops>) {
        static_assert(wrong<Ops>, "batch: make_executor is for typed operations; generators over "
                                  "batch::dynamic::ops run on a batch::dynamic::executor");
    } else {
        static_assert(wrong<Ops>, "batch: make_executor<Ops> takes the operation set, a batch::operations<...> "
                                  "list, such as make_executor<batch::operations<get_user>>(user_batcher{})");
    }
    return true;
}

/// `stats_of<Op>` named a type that is not in the executor's set.
template <class Op>
constexpr bool report_foreign_stats() {
    static_assert(wrong<Op>, "batch: stats_of<Op> names an operation type (see 'Op = ...') that is not in this "
                             "executor's batch::operations<...> list");
    return true;
}

/// `observer()` was called on an executor made without one.
template <class Ops>
constexpr bool report_no_observer() {
    static_assert(wrong<Ops>, "batch: this executor has no observer; give make_executor one with "
                              "batch::with_observer(...)");
    return true;
}

/// What `make_executor` returns after reporting a misuse: it accepts every use of an executor.
struct misused_executor {
    template <class Yielded>
    anything run(Yielded&&) {
        return {};
    }
    [[nodiscard]] run_stats stats() const noexcept { return {}; }
    template <class Op>
    [[nodiscard]] operation_stats stats_of() const noexcept {
        return {};
    }
    void clear_cache() noexcept {}
    template <class... Args>
    bool prime(Args&&...) {
        return false;
    }
    template <class... Args>
    bool prime_error(Args&&...) {
        return false;
    }
    template <class Op>
    bool forget(Op const&) {
        return false;
    }
    template <class Op>
    anything& cache_of() noexcept {
        static anything nothing;
        return nothing;
    }
};

} // namespace batch::detail
