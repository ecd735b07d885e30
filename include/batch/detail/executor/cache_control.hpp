#pragma once

#include <batch/cache.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/detail/run/context.hpp>
#include <batch/error.hpp>
#include <batch/operation_set.hpp>
#include <batch/unit.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace batch::detail {

/// An executor's cache control (`prime`, `prime_error`, `forget`, `cache_of`) over the caches of
/// its context's buckets; each call first checks that `Op` has a cache there, with one error
/// that names the fix.
template <class Ops>
struct cache_control {
    /// True when `Op` has a cache in an executor over `Ops`; otherwise says why.
    template <class Op>
    static constexpr bool cache_ok() {
        if constexpr (!Ops::template contains<Op>) {
            static_assert(wrong<Op>, "batch: prime, forget and cache_of take an operation type (see 'Op = ...') in "
                                     "this executor's batch::operations<...> list");
            return false;
        } else if constexpr (!caches_v<Op>) {
            static_assert(wrong<Op>, "batch: prime, forget and cache_of need a cached operation type (see 'Op = "
                                     "...'): add 'static constexpr bool cacheable = true;' or a cache_policy to it");
            return false;
        } else {
            return Ops::valid;
        }
    }

    template <class Op, class Value>
    static bool prime(context<Ops>& ctx, Op const& op, Value&& value, bool replace) {
        if constexpr (cache_ok<Op>()) {
            using stored = stored_t<result_of_t<Op>>;
            if constexpr (!std::is_convertible_v<Value&&, stored>) {
                static_assert(wrong<Op>, "batch: prime's value must convert to the result_type of the operation "
                                         "(see 'Op = ...'); for a void result, pass batch::unit{}");
                return false;
            } else {
                return ctx.template bucket_for<Op>().cache.store(
                    op, cache_entry_t<Op>(stored(std::forward<Value>(value))), replace);
            }
        } else {
            return false;
        }
    }

    template <class Op>
    static bool prime_error(context<Ops>& ctx, Op const& op, std::exception_ptr error, bool replace) {
        if constexpr (cache_ok<Op>()) {
            if constexpr (!caches_failures_v<Op>) {
                static_assert(wrong<Op>, "batch: prime_error needs an operation type (see 'Op = ...') whose cache "
                                         "keeps failures: add 'static constexpr bool cache_failures = true;' to it");
                return false;
            } else {
                if (!error) throw usage_error("batch: prime_error was given a null exception_ptr");
                return ctx.template bucket_for<Op>().cache.store(op, cache_entry_t<Op>(std::move(error)), replace);
            }
        } else {
            return false;
        }
    }

    template <class Op>
    static bool forget(context<Ops>& ctx, Op const& op) {
        if constexpr (cache_ok<Op>()) {
            return ctx.template bucket_for<Op>().cache.forget(op);
        } else {
            return false;
        }
    }

    /// The cache of `Op` (of the type its policy names), or `anything` after reporting a misuse.
    template <class Op>
    static auto& cache_of(context<Ops>& ctx) noexcept {
        if constexpr (cache_ok<Op>()) {
            return ctx.template bucket_for<Op>().cache.policy_cache();
        } else {
            static anything nothing;
            return nothing;
        }
    }
};

} // namespace batch::detail
