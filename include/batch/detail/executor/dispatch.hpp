#pragma once

#include <batch/detail/base/type_name.hpp>
#include <batch/detail/checks/batcher_set.hpp>
#include <batch/detail/executor/async_round.hpp>
#include <batch/detail/executor/delivery.hpp>
#include <batch/detail/executor/generator_batcher.hpp>
#include <batch/detail/executor/observation.hpp>
#include <batch/detail/executor/split.hpp>
#include <batch/detail/run/context.hpp>
#include <batch/detail/run/merge.hpp>
#include <batch/operation_set.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch::detail {

struct no_round {};

template <class Ops, class... Batchers>
class dispatcher;

/// What runs an executor's rounds: it owns the batchers and the run's context (the scheduler
/// and one bucket per operation type), and dispatches each round: per operation type, in the
/// order of `Ops`, group by `batch_key`, merge identical operations, split into chunks, call
/// (or submit) and deliver. It is the executor's side of a run (`detail::run_host`).
template <class... Ops, class... Batchers>
class dispatcher<operations<Ops...>, Batchers...> {
    using ops_t = operations<Ops...>;
    using set = batcher_set<ops_t, Batchers...>;

    template <class Op>
    using call_t = typename bucket<Op>::call_type;

public:
    /// True when some batcher is asynchronous: the rounds may then wait for I/O.
    static constexpr bool asynchronous = ops_t::valid && set::ok && set::has_async;

    /// True when an observer was given (`batch::with_observer`).
    static constexpr bool observed = set::observer_index < sizeof...(Batchers);

    template <class... Bs>
    explicit dispatcher(Bs&&... batchers) : batchers_(std::forward<Bs>(batchers)...) {}

    [[nodiscard]] context<ops_t>& run_context() noexcept { return context_; }
    [[nodiscard]] context<ops_t> const& run_context() const noexcept { return context_; }

    template <class Op>
    [[nodiscard]] auto& batcher() noexcept {
        return std::get<set::template index<Op>>(batchers_);
    }

    [[nodiscard]] auto& observer() noexcept { return std::get<set::observer_index>(batchers_).observer; }

    /// Once per round: every pending bucket, in the order of Ops; those of asynchronous
    /// batchers first, so that their I/O overlaps with the calls of the others.
    BATCH_STEP void dispatch_round() {
        if constexpr (ops_t::valid && set::ok) {
            auto const round = context_.take_pending_types();
            if constexpr (asynchronous) (dispatch_if<Ops, true>(round), ...);
            if constexpr (resumes_in_place) round_ = round;
            (dispatch_if<Ops, false>(round), ...);
        }
    }

    // The asynchronous round (for an asynchronous executor only).
    [[nodiscard]] scheduling schedule() const noexcept { return scheduling_; }
    void schedule(scheduling s) noexcept { scheduling_ = s; }
    [[nodiscard]] bool io_pending() const noexcept { return async_.pending(); }
    void settle_io() { async_.settle(finisher()); }
    void collect_waits(std::vector<io_interest>& out) const { async_.collect_waits(out); }
    void io_ready(int fd, short revents) { async_.ready(fd, revents, finisher()); }
    [[nodiscard]] std::optional<clock::time_point> io_deadline() const { return async_.deadline(); }
    void expire_io(clock::time_point now) { async_.expire(now, finisher()); }
    void cancel_io() noexcept { async_.cancel(); }

    // What a run tells an observed executor.
    void run_began() noexcept { observation_.run_began(observer()); }
    void round_began(clock::time_point t) noexcept { observation_.round_began(observer(), context_, t); }
    void round_ended() noexcept { observation_.round_ended(observer(), context_); }
    void run_ended(std::exception_ptr error) noexcept {
        observation_.run_ended(observer(), context_, std::move(error));
    }

private:
    // Without asynchronous batchers or an observer, the generators that the round's last call
    // completes are resumed as their results are delivered, while their frames are in the
    // cache, instead of in a pass of their own; an operation they yield waits for the next
    // round, as it would (a round dispatches the types that had operations when it began).
    // Not for a cached type, whose results must all be stored before any of them is used.
    // `round_` is the set of types with operations when the round began.
    static constexpr bool resumes_in_place = !asynchronous && !observed;

    template <class Op>
    [[nodiscard]] bool resumes_here() const noexcept {
        if constexpr (resumes_in_place && !caches_v<Op>) {
            return context<ops_t>::last_in(round_, ops_t::template index_of<Op>);
        } else {
            return false;
        }
    }

    template <class Op, bool Async>
    void dispatch_if(typename context<ops_t>::type_set const& round) {
        if constexpr (set::template is_async<Op> == Async) {
            if (context<ops_t>::contains(round, ops_t::template index_of<Op>)) dispatch<Op>();
        }
    }

    // A type whose round may be a single operation called straight from its bucket: one that is
    // neither keyed nor merged (nor cached), with a batcher that returns values, on an executor
    // that resumes in place.
    template <class Op>
    static constexpr bool calls_single_from_bucket =
        resumes_in_place
        && !keyed_operation<Op> && !deduplicates_v<Op> && set::template kind<Op> == batcher_kind::values;

    template <class Op>
    void dispatch() {
        auto& b = context_.template bucket_for<Op>();
        if constexpr (calls_single_from_bucket<Op>) {
            if (b.pending.size() == 1) {
                call_single(b);
            } else {
                dispatch_many_out_of_line(b); // kept out of the round's inlined steps
            }
        } else {
            dispatch_many(b);
        }
    }

    template <class Op>
    [[gnu::noinline]] void dispatch_many_out_of_line(bucket<Op>& b) {
        dispatch_many(b);
    }

    // Group by batch_key, merge identical operations, split into chunks, call.
    template <class Op>
    void dispatch_many(bucket<Op>& b) {
        auto const each_key = [&](call_t<Op>&& group) {
            if constexpr (deduplicates_v<Op>) {
                if (std::size_t const merged = merge_identical(group, b.merging)) {
                    context_.deduplicated(b.stats, merged);
                }
            }
            split_into_chunks(std::move(group), set::template max_batch_size<Op>,
                              [&](call_t<Op>&& chunk) { call<Op>(b, std::move(chunk)); });
        };
        if constexpr (keyed_operation<Op>) {
            split_by_key(std::move(b.take()), each_key);
        } else {
            each_key(std::move(b.take()));
        }
        b.end_dispatch();
    }

    template <class Op>
    void call(bucket<Op>& b, call_t<Op>&& c) {
        constexpr auto kind = set::template kind<Op>;
        context_.batch_called(b.stats, c.size());
        [[maybe_unused]] clock::time_point started{};
        if constexpr (observed) started = clock::now();
        if constexpr (kind == batcher_kind::async) {
            async_.template submit<Op>(batcher<Op>(), std::move(c), started, [&](call_t<Op>& in, auto const& e) {
                fail_call<Op>(context_, b, in, e);
                report<Op>(b, in, started, e, 0, true);
            });
        } else if constexpr (kind == batcher_kind::generator) {
            auto start = [&bt = batcher<Op>()](call_t<Op> const& in) { return std::invoke(bt, in.input()); };
            auto deliver_to = [this, &b, started](call_t<Op>& in, auto&&... results) {
                std::size_t const failed = deliver<Op>(context_, b, in, results...);
                report<Op>(b, in, started, nullptr, failed, false);
            };
            auto fail = [this, &b, started](call_t<Op>& in, std::exception_ptr const& e) {
                fail_call<Op>(context_, b, in, e);
                report<Op>(b, in, started, e, 0, false);
            };
            start_driver(context_, drive_generator_batcher<ops_t>(std::move(c), start, deliver_to, fail));
        } else {
            std::size_t failed = 0;
            try {
                if constexpr (kind == batcher_kind::nothing) {
                    std::invoke(batcher<Op>(), c.input());
                    context_.resume_in_place(resumes_here<Op>());
                    failed = deliver<Op>(context_, b, c);
                } else {
                    decltype(auto) results = std::invoke(batcher<Op>(), c.input());
                    context_.resume_in_place(resumes_here<Op>());
                    failed = deliver<Op>(context_, b, c, std::forward<decltype(results)>(results));
                }
                context_.resume_in_place(false);
            } catch (...) {
                context_.resume_in_place(false);
                auto const error = std::current_exception();
                fail_call<Op>(context_, b, c, error);
                report<Op>(b, c, started, error, 0, false);
                return;
            }
            report<Op>(b, c, started, nullptr, failed, false);
        }
    }

    // The round's only operation of `Op` (see `calls_single_from_bucket`), called from the
    // bucket itself: no swap of the bucket's calls, no loop. The bucket is emptied once the
    // result is in hand and before it is delivered, since the delivery may resume the generator
    // (the round's last type), which may yield into the bucket again.
    template <class Op>
    void call_single(bucket<Op>& b) {
        call_t<Op>& c = b.pending;
        context_.batch_called(b.stats, 1);
        try {
            decltype(auto) results = std::invoke(batcher<Op>(), c.input());
            check_result_count(static_cast<std::size_t>(std::ranges::size(results)), 1, "batch: the batcher for",
                               type_name_v<Op>);
            typename bucket<Op>::stored value(std::move(*std::ranges::begin(results)));
            c.clear(); // its target stays where it was until the generator yields again
            if (resumes_here<Op>()) {
                context_.deliver_resuming(c.targets.data()[0], std::move(value));
            } else {
                context_.deliver(c.targets.data()[0], std::move(value));
            }
        } catch (...) { // nothing was delivered, and the bucket still holds the operation
            fail_call<Op>(context_, b, c, std::current_exception());
            c.clear();
        }
        context_.template count_cache_losses<Op>(); // `report` for an executor with no observer
    }

    // A batcher call has ended: the cache's losses are counted, and an observer is told.
    template <class Op>
    void report(bucket<Op>& b, call_t<Op> const& c, clock::time_point started, std::exception_ptr error,
                std::size_t failed, bool async) noexcept {
        context_.template count_cache_losses<Op>();
        if constexpr (observed) {
            observation_.template batch_ended<Op>(observer(), batcher<Op>(), context_, b, c, started, std::move(error),
                                                  failed, async, ops_t::template index_of<Op>);
        }
    }

    // An asynchronous batch has ended: its results are delivered, or its operations fail with
    // `error` (or with what taking its results throws).
    auto finisher() noexcept {
        return [this](auto& f, std::exception_ptr error) noexcept {
            using Op = typename std::remove_reference_t<decltype(f)>::call_type::operation;
            auto& b = context_.template bucket_for<Op>();
            std::size_t failed = 0;
            if (!error) {
                try {
                    if constexpr (std::is_void_v<decltype(f.pending.results())>) {
                        f.pending.results();
                        failed = deliver<Op>(context_, b, f.call);
                    } else {
                        failed = deliver<Op>(context_, b, f.call, f.pending.results());
                    }
                } catch (...) {
                    error = std::current_exception();
                }
            }
            if (error) fail_call<Op>(context_, b, f.call, error);
            report<Op>(b, f.call, f.submitted, std::move(error), failed, true);
        };
    }

    context<ops_t> context_;
    std::tuple<Batchers...> batchers_;
    [[no_unique_address]] std::conditional_t<asynchronous, async_round<set, ops_t>, no_round> async_;
    [[no_unique_address]] std::conditional_t<observed, observation, no_observation> observation_;
    typename context<ops_t>::type_set round_{};
    scheduling scheduling_ = scheduling::rounds;
};

} // namespace batch::detail
