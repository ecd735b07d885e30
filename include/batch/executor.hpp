#pragma once

#include <batch/active_run.hpp>
#include <batch/async_batcher.hpp>
#include <batch/batcher.hpp>
#include <batch/cache.hpp>
#include <batch/detail/batch_call.hpp>
#include <batch/detail/context.hpp>
#include <batch/detail/generator_batcher.hpp>
#include <batch/detail/in_flight.hpp>
#include <batch/detail/merge.hpp>
#include <batch/detail/split.hpp>
#include <batch/detail/type_name.hpp>
#include <batch/error.hpp>
#include <batch/gen.hpp>
#include <batch/io/poll.hpp>
#include <batch/observer.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>
#include <batch/stats.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch {

template <class Ops, class... Batchers>
class executor;

namespace detail {

/// When an observed executor's run and round began, and what its counters were then.
struct watch {
    clock::time_point run_begin{};
    clock::time_point round_begin{};
    std::size_t batches_before = 0;
    std::size_t cache_hits_before = 0;
};
struct no_watch {};

/// The list of asynchronous batches in flight for `Op`, or `no_flights` where its batcher is
/// not asynchronous.
template <class Set, class Op, bool = Set::template is_async<Op>>
struct flights_of {
    using type = no_flights;
};
template <class Set, class Op>
struct flights_of<Set, Op, true> {
    using type =
        std::vector<flight<typename bucket<Op>::call_type, pending_t<typename Set::template batcher_t<Op>, Op>>>;
};

} // namespace detail

/// Runs generators over `Ops` in rounds, calling one batcher per operation type (and
/// `batch_key`) per round with every pending operation of that type. A round first submits the
/// batches of the asynchronous batchers, then calls the others, then waits for the batches in
/// flight together.
template <class... Ops, class... Batchers>
class executor<operations<Ops...>, Batchers...> {
    using ops_t = operations<Ops...>;
    using set = detail::batcher_set<ops_t, Batchers...>;
    static_assert(set::check());

public:
    using operation_set = ops_t; ///< The operations it serves.

    /// True when some batcher is asynchronous: the executor's rounds may then wait for I/O.
    static constexpr bool asynchronous = ops_t::valid && set::ok && set::has_async;

    /// True when the executor was made with an observer (`batch::with_observer`).
    static constexpr bool observed = set::observer_index < sizeof...(Batchers);

    /// Takes ownership of the batchers (prefer `batch::make_executor`).
    template <class... Bs>
    explicit executor(std::in_place_t, Bs&&... batchers) : batchers_(std::forward<Bs>(batchers)...) {}

    /// An executor may be moved between runs (not during one: its generators point at it).
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

    /// Counters of the last run.
    [[nodiscard]] run_stats const& stats() const noexcept { return context_.stats(); }

    /// Counters of the last run for one operation type.
    template <class Op>
    [[nodiscard]] operation_stats stats_of() const noexcept {
        if constexpr (ops_t::template contains<Op>) {
            return context_.template bucket_for<Op>().stats;
        } else {
            static_assert(detail::wrong<Op>, "batch: stats_of<Op> names an operation type (see 'Op = ...') that is "
                                             "not in this executor's batch::operations<...> list");
            return {};
        }
    }

    /// Forgets every result remembered for cached operation types.
    void clear_cache() noexcept { context_.clear_caches(); }

    /// Stores `value` as the result of `op`, for a cached operation type, so that yielding `op`
    /// gives it without a batcher call. A result kept already stays (then it returns false), as
    /// in DataLoader; `prime(op, value, batch::overwrite)` replaces it. Works between runs and
    /// during one (from a generator or a batcher): an operation yielded after the prime finds it.
    /// The result a batcher gives later for an identical operation that was pending replaces it.
    template <class Op, class Value>
    bool prime(Op const& op, Value&& value) {
        return prime_with<Op, Value>(op, std::forward<Value>(value), false);
    }
    template <class Op, class Value>
    bool prime(Op const& op, Value&& value, overwrite_t) {
        return prime_with<Op, Value>(op, std::forward<Value>(value), true);
    }

    /// Stores the failure `error` (not null) for `op`, for a type that remembers failures
    /// (`cache_failures`): yielding `op` then fails with it. Returns as `prime` does.
    template <class Op>
    bool prime_error(Op const& op, std::exception_ptr error) {
        return prime_error_with<Op>(op, std::move(error), false);
    }
    template <class Op>
    bool prime_error(Op const& op, std::exception_ptr error, overwrite_t) {
        return prime_error_with<Op>(op, std::move(error), true);
    }

    /// Forgets what the cache keeps for `op`; returns whether it kept something. An identical
    /// operation already pending stores its result when the result arrives.
    template <class Op>
    bool forget(Op const& op) {
        if constexpr (cache_ok<Op>()) {
            return context_.template bucket_for<Op>().cache.erase(op);
        } else {
            return false;
        }
    }

    /// The cache of the cached operation type `Op` (of the type its `cache_policy` names).
    template <class Op>
    [[nodiscard]] auto& cache_of() noexcept {
        if constexpr (cache_ok<Op>()) {
            return context_.template bucket_for<Op>().cache;
        } else {
            return *this;
        }
    }

    /// The batcher serving `Op`.
    template <class Op>
    [[nodiscard]] auto& batcher_of() noexcept {
        return std::get<set::template index<Op>>(batchers_);
    }

    /// The observer given to `make_executor` through `batch::with_observer`.
    [[nodiscard]] auto& observer() noexcept {
        if constexpr (observed) {
            return std::get<set::observer_index>(batchers_).observer;
        } else {
            static_assert(detail::wrong<ops_t>, "batch: this executor has no observer; give make_executor one "
                                                "with batch::with_observer(...)");
            return *this;
        }
    }

private:
    template <class E, class Y>
    friend class active_run;

    template <class Op>
    using call_t = typename detail::bucket<Op>::call_type;

    // True when `Op` has a cache here; otherwise says why, with one static_assert.
    template <class Op>
    static constexpr bool cache_ok() {
        if constexpr (!ops_t::template contains<Op>) {
            static_assert(detail::wrong<Op>, "batch: prime, forget and cache_of take an operation type (see 'Op = "
                                             "...') in this executor's batch::operations<...> list");
            return false;
        } else if constexpr (!caches_v<Op>) {
            static_assert(detail::wrong<Op>, "batch: prime, forget and cache_of need a cached operation type (see "
                                             "'Op = ...'): add 'static constexpr bool cacheable = true;' or a "
                                             "cache_policy to it");
            return false;
        } else {
            return ops_t::valid;
        }
    }

    template <class Op, class Value>
    bool prime_with(Op const& op, Value&& value, bool replace) {
        if constexpr (cache_ok<Op>()) {
            using stored = stored_t<result_of_t<Op>>;
            if constexpr (!std::is_convertible_v<Value&&, stored>) {
                static_assert(detail::wrong<Op>, "batch: prime's value must convert to the result_type of the "
                                                 "operation (see 'Op = ...'); for a void result, pass batch::unit{}");
                return false;
            } else {
                return store<Op>(op, cache_entry_t<Op>(stored(std::forward<Value>(value))), replace);
            }
        } else {
            return false;
        }
    }

    template <class Op>
    bool prime_error_with(Op const& op, std::exception_ptr error, bool replace) {
        if constexpr (cache_ok<Op>()) {
            if constexpr (!caches_failures_v<Op>) {
                static_assert(detail::wrong<Op>, "batch: prime_error needs an operation type (see 'Op = ...') whose "
                                                 "cache keeps failures: add 'static constexpr bool cache_failures = "
                                                 "true;' to it");
                return false;
            } else {
                if (!error) throw usage_error("batch: prime_error was given a null exception_ptr");
                return store<Op>(op, cache_entry_t<Op>(std::move(error)), replace);
            }
        } else {
            return false;
        }
    }

    template <class Op>
    bool store(Op const& op, cache_entry_t<Op>&& entry, bool replace) {
        auto& cache = context_.template bucket_for<Op>().cache;
        if (!replace && cache.find(op)) return false;
        cache.insert_or_assign(op, std::move(entry));
        return true;
    }

    // Remembers that every operation of `c` failed with `e`, for a type whose cache keeps
    // failures; an entry that cannot be stored is left out.
    template <class Op>
    void remember_failure(detail::bucket<Op>& b, call_t<Op> const& c, std::exception_ptr const& e) noexcept {
        if constexpr (caches_failures_v<Op>) {
            for (auto const& op : c.ops) {
                try {
                    b.cache.insert_or_assign(op, cache_entry_t<Op>(e));
                } catch (...) {
                }
            }
        }
    }

    // Once per round: every pending bucket, in the order of Ops; those of asynchronous
    // batchers first, so that their I/O overlaps with the calls of the others.
    void dispatch_round() {
        if constexpr (ops_t::valid && set::ok) {
            if constexpr (asynchronous) (dispatch_if<Ops, true>(), ...);
            if constexpr (resumes_in_place) {
                last_ = 0;
                ((last_ = context_.template bucket_for<Ops>().empty() ? last_ : ops_t::template index_of<Ops> + 1),
                 ...);
            }
            (dispatch_if<Ops, false>(), ...);
        }
    }

    // Without asynchronous batchers or an observer, the generators that the round's last call
    // completes are resumed as their results are delivered, while their frames are in the
    // cache, instead of in a pass of their own; an operation they yield waits for the next
    // round, as it would. Not for a cached type, whose results must all be stored before any
    // of them is used. `last_` is 1 + the index of the last type with operations when the
    // round began, or 0.
    static constexpr bool resumes_in_place = !asynchronous && !observed;
    std::size_t last_ = 0;

    template <class Op>
    [[nodiscard]] bool resumes_here() const noexcept {
        if constexpr (resumes_in_place && !caches_v<Op>) {
            return ops_t::template index_of<Op> + 1 == last_;
        } else {
            return false;
        }
    }

    template <class Op, bool Async>
    void dispatch_if() {
        if constexpr (set::template is_async<Op> == Async) dispatch<Op>();
    }

    // Group by batch_key, merge identical operations, split into chunks, call.
    template <class Op>
    void dispatch() {
        auto& b = context_.template bucket_for<Op>();
        if (b.empty()) return;
        if constexpr (resumes_in_place) {
            if (ops_t::template index_of<Op> + 1 > last_) return; // filled by this round's resumes
        }
        auto const each_key = [&](call_t<Op>&& group) {
            if constexpr (deduplicates_v<Op>) {
                if (std::size_t const merged = detail::merge_identical(group, b.merging)) {
                    context_.deduplicated(b.stats, merged);
                }
            }
            detail::split_into_chunks(std::move(group), set::template max_batch_size<Op>,
                                      [&](call_t<Op>&& chunk) { call<Op>(b, std::move(chunk)); });
        };
        if constexpr (keyed_operation<Op>) {
            detail::split_by_key(std::move(b.take()), each_key);
        } else {
            each_key(std::move(b.take()));
        }
        b.end_dispatch();
    }

    template <class Op>
    void call(detail::bucket<Op>& b, call_t<Op>&& c) {
        constexpr auto kind = set::template kind<Op>;
        context_.batch_called(b.stats, c.size());
        [[maybe_unused]] clock::time_point started{};
        if constexpr (observed) started = clock::now();
        if constexpr (kind == detail::batcher_kind::async) {
            submit<Op>(std::move(c), started);
        } else if constexpr (kind == detail::batcher_kind::generator) {
            auto start = [&batcher = batcher_of<Op>()](call_t<Op> const& in) {
                return std::invoke(batcher, in.input());
            };
            auto deliver_to = [this, &b, started](call_t<Op>& in, auto&&... results) {
                std::size_t const failed = this->template deliver<Op>(b, in, results...);
                this->template report<Op>(b, in, started, nullptr, failed, false);
            };
            auto fail = [this, &b, started](call_t<Op>& in, std::exception_ptr const& e) {
                in.results_to().fail_all(context_, e);
                this->template remember_failure<Op>(b, in, e);
                this->template report<Op>(b, in, started, e, 0, false);
            };
            detail::start_driver(context_,
                                 detail::drive_generator_batcher<ops_t>(std::move(c), start, deliver_to, fail));
        } else {
            std::exception_ptr error;
            std::size_t failed = 0;
            try {
                if constexpr (kind == detail::batcher_kind::nothing) {
                    std::invoke(batcher_of<Op>(), c.input());
                    context_.resume_in_place(resumes_here<Op>());
                    failed = deliver<Op>(b, c);
                } else {
                    decltype(auto) results = std::invoke(batcher_of<Op>(), c.input());
                    context_.resume_in_place(resumes_here<Op>());
                    failed = deliver<Op>(b, c, std::forward<decltype(results)>(results));
                }
                context_.resume_in_place(false);
            } catch (...) {
                context_.resume_in_place(false);
                error = std::current_exception();
                c.results_to().fail_all(context_, error);
                remember_failure<Op>(b, c, error);
            }
            report<Op>(b, c, started, std::move(error), failed, false);
        }
    }

    // Measures one batcher call that has ended and tells the observer; nothing without one.
    template <class Op>
    void report(detail::bucket<Op>& b, call_t<Op> const& c, clock::time_point started, std::exception_ptr error,
                std::size_t failed, bool async) noexcept {
        context_.template count_cache_losses<Op>();
        if constexpr (observed) {
            clock::time_point const completed = clock::now();
            context_.batch_took(b.stats, completed - started);
            if constexpr (detail::notify::wants_batch<std::remove_reference_t<decltype(observer())>>) {
                batch_event e;
                e.operation = detail::type_name_v<Op>;
                if constexpr (requires(typename set::template batcher_t<Op> const& bt) {
                                  { bt.name() } -> std::convertible_to<std::string_view>;
                              }) {
                    e.batcher = batcher_of<Op>().name();
                }
                e.type_index = ops_t::template index_of<Op>;
                if constexpr (keyed_operation<Op>) {
                    try {
                        if (!c.ops.empty()) e.key = detail::key_text(c.ops.front().batch_key());
                    } catch (...) { // a key that cannot be written out is left out
                    }
                }
                e.round = context_.stats().rounds;
                e.size = c.size();
                e.deduplicated = c.targets.size() - c.size();
                e.failed = failed;
                e.asynchronous = async;
                e.submitted = started;
                e.completed = completed;
                e.error = std::move(error);
                detail::notify::batch(observer(), e);
            }
        }
    }

    // What an active_run tells an observed executor.
    void run_began() noexcept {
        watch_.run_begin = clock::now();
        detail::notify::run_begin(observer(), watch_.run_begin);
    }
    void round_began(clock::time_point t) noexcept {
        watch_.round_begin = t;
        watch_.batches_before = context_.stats().batches;
        watch_.cache_hits_before = context_.stats().cache_hits;
        detail::notify::round_begin(observer(), context_.stats().rounds, t);
    }
    void round_ended() noexcept {
        round_event e{context_.stats().rounds, context_.stats().batches - watch_.batches_before,
                      context_.stats().cache_hits - watch_.cache_hits_before, watch_.round_begin, clock::now()};
        try {
            context_.round_took(e.end - e.begin);
        } catch (...) { // no memory for one more round time: the stats go without it
        }
        detail::notify::round_end(observer(), e);
    }
    void run_ended(std::exception_ptr error) noexcept {
        run_event e{watch_.run_begin, clock::now(), &context_.stats(), std::move(error)};
        context_.run_took(e.end - e.begin);
        detail::notify::run_end(observer(), e);
    }

    // Starts an asynchronous batch; a batcher that cannot start it fails its operations.
    template <class Op>
    void submit(call_t<Op>&& c, clock::time_point started) {
        auto& flights = in_flight_.template list<ops_t::template index_of<Op>>();
        auto& batcher = batcher_of<Op>();
        try {
            flights.reserve(flights.size() + 1);
            auto const timeout = detail::timeout_of(batcher);
            auto deadline = detail::clock::time_point::max();
            if (timeout > detail::clock::duration::zero()) deadline = detail::clock::now() + timeout;
            auto pending = batcher.submit(c.input()); // the span outlives the move below
            flights.push_back({std::move(c), std::move(pending), deadline, started});
        } catch (...) {
            auto const error = std::current_exception();
            auto& b = context_.template bucket_for<Op>();
            c.results_to().fail_all(context_, error);
            remember_failure<Op>(b, c, error);
            report<Op>(b, c, started, error, 0, true);
        }
    }

    // An asynchronous batch has ended: its results are delivered, or its operations fail with
    // `error` (or with what taking its results throws).
    template <class Flight>
    void finish(Flight& f, std::exception_ptr error) noexcept {
        using Op = typename Flight::call_type::operation;
        auto const to = f.call.results_to();
        auto& b = context_.template bucket_for<Op>();
        std::size_t failed = 0;
        if (error) {
            to.fail_all(context_, error);
            remember_failure<Op>(b, f.call, error);
        } else {
            try {
                if constexpr (std::is_void_v<decltype(f.pending.results())>) {
                    f.pending.results();
                    failed = deliver<Op>(b, f.call);
                } else {
                    failed = deliver<Op>(b, f.call, f.pending.results());
                }
            } catch (...) {
                error = std::current_exception();
                to.fail_all(context_, error);
                remember_failure<Op>(b, f.call, error);
            }
        }
        report<Op>(b, f.call, f.submitted, std::move(error), failed, true);
    }

    // The executor's side of an active_run's I/O.
    [[nodiscard]] bool io_pending() const noexcept { return !in_flight_.empty(); }
    void settle_io() {
        in_flight_.settle([this](auto& f, std::exception_ptr const& e) { this->finish(f, e); });
    }
    void collect_waits(std::vector<io_interest>& out) const { in_flight_.collect_waits(out); }
    void io_ready(int fd, short revents) {
        in_flight_.ready(fd, revents, [this](auto& f, std::exception_ptr const& e) { this->finish(f, e); });
    }
    [[nodiscard]] std::optional<detail::clock::time_point> io_deadline() const { return in_flight_.next_deadline(); }
    void expire_io(detail::clock::time_point now) {
        in_flight_.expire(now, [this](auto& f, std::exception_ptr const& e) { this->finish(f, e); });
    }
    void cancel_io() noexcept { in_flight_.cancel_all(); }

    // A void batcher's call succeeded: every operation is done.
    template <class Op>
    std::size_t deliver(detail::bucket<Op>&, call_t<Op> const& c) noexcept {
        auto const to = c.results_to();
        for (std::size_t i = 0; i < c.size(); ++i) to.answer(context_, i, unit{});
        return 0;
    }

    // Checks the count first, so that nothing is delivered twice; remembers cacheable results.
    // Returns how many operations failed alone.
    template <class Op, class Results>
    std::size_t deliver(detail::bucket<Op>& b, call_t<Op> const& c, Results&& results) {
        std::size_t failed = 0;
        using stored = stored_t<result_of_t<Op>>;
        detail::check_result_count(static_cast<std::size_t>(std::ranges::size(results)), c.size(),
                                   "batch: the batcher for", detail::type_name_v<Op>);
        auto const to = c.results_to();
        auto it = std::ranges::begin(results);
        for (std::size_t i = 0; i < c.size(); ++i, ++it) {
            auto answer = [&](auto&& value) {
                if constexpr (!std::is_empty_v<decltype(b.cache)>) {
                    try {
                        b.cache.insert_or_assign(c.ops[i], cache_entry_t<Op>(stored(value)));
                    } catch (...) { // a result that cannot be remembered is still delivered
                    }
                }
                to.answer(context_, i, stored(std::forward<decltype(value)>(value)));
            };
            if constexpr (std::same_as<std::ranges::range_value_t<Results>, outcome<result_of_t<Op>>>) {
                if (auto e = it->error()) {
                    if constexpr (caches_failures_v<Op>) {
                        try {
                            b.cache.insert_or_assign(c.ops[i], cache_entry_t<Op>(e));
                        } catch (...) {
                        }
                    }
                    to.fail(context_, i, e);
                    ++failed;
                } else {
                    answer(std::move(*it).value());
                }
            } else {
                answer(std::move(*it));
            }
        }
        return failed;
    }

    detail::context<ops_t> context_;
    std::tuple<Batchers...> batchers_;
    detail::in_flight_set<typename detail::flights_of<set, Ops>::type...> in_flight_;
    [[no_unique_address]] std::conditional_t<observed, detail::watch, detail::no_watch> watch_;
};

namespace detail {

/// What `make_executor` returns after reporting a misuse: it accepts every use of an executor,
/// so that one mistake gives one error.
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

} // namespace detail

/// Makes an executor for the operation set `Ops` that owns the given batchers, one per
/// operation type.
template <class Ops, class... Batchers>
[[nodiscard]] auto make_executor(Batchers&&... batchers) {
    if constexpr (is_operations_v<Ops>) {
        return executor<Ops, std::decay_t<Batchers>...>(std::in_place, std::forward<Batchers>(batchers)...);
    } else {
        if constexpr (detail::runtime_typed_operations<Ops>) {
            static_assert(detail::wrong<Ops>, "batch: make_executor is for typed operations; generators over "
                                              "batch::dynamic::ops run on a batch::dynamic::executor");
        } else {
            static_assert(detail::wrong<Ops>, "batch: make_executor<Ops> takes the operation set, a "
                                              "batch::operations<...> list, such as "
                                              "make_executor<batch::operations<get_user>>(user_batcher{})");
        }
        return detail::misused_executor{};
    }
}

} // namespace batch
