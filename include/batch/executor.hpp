#pragma once

#include <batch/active_run.hpp>
#include <batch/cache.hpp>
#include <batch/detail/executor/cache_control.hpp>
#include <batch/detail/executor/dispatch.hpp>
#include <batch/detail/executor/misuse.hpp>
#include <batch/detail/run/run_host.hpp>
#include <batch/gen.hpp>
#include <batch/io/poll.hpp>
#include <batch/operation_set.hpp>
#include <batch/stats.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace batch {

template <class Ops, class... Batchers>
class executor;

/// Runs generators over `Ops` in rounds, calling one batcher per operation type (and
/// `batch_key`) per round with every pending operation of that type. A round first submits the
/// batches of the asynchronous batchers, then calls the others, then waits for the batches in
/// flight together. (The rounds are `detail::dispatcher`'s; this is the public face.)
template <class... Ops, class... Batchers>
class executor<operations<Ops...>, Batchers...> {
    using ops_t = operations<Ops...>;
    using host_t = detail::dispatcher<ops_t, Batchers...>;
    using cache_control = detail::cache_control<ops_t>;
    static_assert(detail::batcher_set<ops_t, Batchers...>::check());

public:
    using operation_set = ops_t; ///< The operations it serves.

    /// True when some batcher is asynchronous: the executor's rounds may then wait for I/O.
    static constexpr bool asynchronous = host_t::asynchronous;

    /// True when the executor was made with an observer (`batch::with_observer`).
    static constexpr bool observed = host_t::observed;

    /// Takes ownership of the batchers (prefer `batch::make_executor`).
    template <class... Bs>
    explicit executor(std::in_place_t, Bs&&... batchers) : host_(std::forward<Bs>(batchers)...) {}

    /// An executor may be moved between runs; a move during one (its generators point at it),
    /// or while `batch::asio::async_run` holds it, throws `batch::usage_error`, and so does a
    /// run of a moved-from executor.
    executor(executor&&) = default;
    executor& operator=(executor&&) = delete;

    /// Runs `x` (anything `co_yield` accepts: an operation, a generator, a shared generator, or
    /// a tuple, vector or map of them) to completion and returns its result, or rethrows the
    /// exception that escaped it. Calling it from inside one of this executor's own runs throws
    /// `batch::usage_error`.
    template <class Yielded>
    auto run(Yielded&& x) {
        return io::run_blocking(*this, std::forward<Yielded>(x));
    }

    /// How runs proceed while some asynchronous batches are in and others are not (see
    /// `batch::scheduling`): `scheduling::rounds` by default. Set it between runs.
    void set_scheduling(scheduling s) noexcept { host_.schedule(s); }
    [[nodiscard]] scheduling scheduling_mode() const noexcept { return host_.schedule(); }

    /// Counters of the last run.
    [[nodiscard]] run_stats const& stats() const noexcept { return host_.run_context().stats(); }

    /// Counters of the last run for one operation type.
    template <class Op>
    [[nodiscard]] operation_stats stats_of() const noexcept {
        if constexpr (ops_t::template contains<Op>) {
            return host_.run_context().template bucket_for<Op>().stats;
        } else {
            static_assert(detail::report_foreign_stats<Op>());
            return {};
        }
    }

    /// Forgets every result remembered for cached operation types.
    void clear_cache() noexcept { host_.run_context().clear_caches(); }

    /// Stores `value` as the result of `op`, for a cached operation type, so that yielding `op`
    /// gives it without a batcher call. A result kept already stays (then it returns false), as
    /// in DataLoader; `prime(op, value, batch::overwrite)` replaces it. Works between runs and
    /// during one (from a generator or a batcher): an operation yielded after the prime finds it.
    /// The result a batcher gives later for an identical operation that was pending replaces it.
    template <class Op, class Value>
    bool prime(Op const& op, Value&& value) {
        return cache_control::prime(host_.run_context(), op, std::forward<Value>(value), false);
    }
    template <class Op, class Value>
    bool prime(Op const& op, Value&& value, overwrite_t) {
        return cache_control::prime(host_.run_context(), op, std::forward<Value>(value), true);
    }

    /// Stores the failure `error` (not null) for `op`, for a type that remembers failures
    /// (`cache_failures`): yielding `op` then fails with it. Returns as `prime` does.
    template <class Op>
    bool prime_error(Op const& op, std::exception_ptr error) {
        return cache_control::prime_error(host_.run_context(), op, std::move(error), false);
    }
    template <class Op>
    bool prime_error(Op const& op, std::exception_ptr error, overwrite_t) {
        return cache_control::prime_error(host_.run_context(), op, std::move(error), true);
    }

    /// Forgets what the cache keeps for `op`; returns whether it kept something. An identical
    /// operation already pending stores its result when the result arrives.
    template <class Op>
    bool forget(Op const& op) {
        return cache_control::forget(host_.run_context(), op);
    }

    /// The cache of the cached operation type `Op` (of the type its `cache_policy` names).
    template <class Op>
    [[nodiscard]] auto& cache_of() noexcept {
        return cache_control::template cache_of<Op>(host_.run_context());
    }

    /// The batcher serving `Op`.
    template <class Op>
    [[nodiscard]] auto& batcher_of() noexcept {
        return host_.template batcher<Op>();
    }

    /// The observer given to `make_executor` through `batch::with_observer`.
    [[nodiscard]] auto& observer() noexcept {
        if constexpr (observed) {
            return host_.observer();
        } else {
            static_assert(detail::report_no_observer<ops_t>());
            return *this;
        }
    }

private:
    friend detail::host_access;

    host_t host_;
};

/// Makes an executor for the operation set `Ops` that owns the given batchers, one per
/// operation type.
template <class Ops, class... Batchers>
[[nodiscard]] auto make_executor(Batchers&&... batchers) {
    if constexpr (is_operations_v<Ops>) {
        return executor<Ops, std::decay_t<Batchers>...>(std::in_place, std::forward<Batchers>(batchers)...);
    } else {
        static_assert(detail::report_not_an_operation_set<Ops>());
        return detail::misused_executor{};
    }
}

} // namespace batch
