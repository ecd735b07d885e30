#pragma once

#include <batch/async_batcher.hpp>
#include <batch/detail/base/clock.hpp>
#include <batch/detail/base/fwd.hpp>
#include <batch/detail/run/run_host.hpp>
#include <batch/detail/run/yield.hpp>
#include <batch/detail/run/yield_checks.hpp>
#include <batch/error.hpp>
#include <batch/observer.hpp>

#include <exception>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch {

/// One run of an executor, driven a step at a time by an event loop: `ex.run(x)` is
/// `active_run r(ex, x); while (!r.step()) wait(r); return r.result();`, where `wait` waits
/// with poll(2) (see `batch/io/poll.hpp`); `batch/asio/async_run.hpp` waits through Boost.Asio
/// instead. Between steps the run's asynchronous batches are in flight: `waits()` says which
/// descriptors they wait for, `ready` hands over a descriptor that is ready, and `expire` fails
/// the batches whose deadline (`deadline()`) has passed. The executor is busy until the run
/// object is destroyed; destroying it early cancels what is in flight and ends the run.
template <class Executor, class Yielded>
class [[nodiscard]] active_run {
    using item = std::remove_cvref_t<Yielded>;
    using ops_t = typename Executor::operation_set;
    using root_t = detail::yield_awaiter<std::remove_reference_t<Yielded>, ops_t, !std::is_lvalue_reference_v<Yielded>>;
    using host_t = std::remove_reference_t<decltype(detail::host_access::host(std::declval<Executor&>()))>;
    static_assert(detail::yieldable<item, ops_t>, "batch: active_run needs something an executor can run");
    static constexpr bool async_ok = !host_t::asynchronous || detail::async_run_host<host_t>;
    static constexpr bool observed_ok = !host_t::observed || detail::observed_run_host<host_t>;
    static_assert(detail::run_host<host_t> && async_ok && observed_ok,
                  "batch: active_run runs on a batch::executor or a batch::dynamic::executor");

public:
    /// What the run gives: what `co_yield x` would.
    using result_type = decltype(std::declval<root_t&>().await_resume());

    /// Starts the run of `x` on `ex`: enrols `x` (a misused generator throws
    /// `batch::usage_error` here, as does a run started inside one of `ex`'s own runs).
    active_run(Executor& ex, Yielded&& x) : run_(detail::host_access::host(ex)), root_(std::forward<Yielded>(x)) {
        if constexpr (host_t::observed) run_.host.run_began();
        try {
            done_ = !root_.enroll(run_.host.run_context());
            run_.finished = done_;
        } catch (...) {
            run_.stop(std::current_exception());
            throw;
        }
    }

    active_run(active_run const&) = delete;
    active_run& operator=(active_run const&) = delete;

    /// Resumes generators and dispatches rounds until the run is done (true) or its round waits
    /// for asynchronous batches (false). Throws what stops the run (a `batch::cycle_error`, an
    /// allocation failure); an exception of the program itself is kept for `result`.
    bool step() {
        if (done_) return true;
        auto& ctx = run_.host.run_context();
        try {
            for (;;) {
                if constexpr (host_t::asynchronous || host_t::observed) {
                    if (round_open_) { // the round ends when its last batch is in
                        if constexpr (host_t::asynchronous) {
                            run_.host.settle_io();
                            if (run_.host.io_pending()) {
                                if (!completes_in_order() || !resume_early()) return false;
                                continue;
                            }
                        }
                        if constexpr (host_t::observed) run_.host.round_ended();
                        round_open_ = false;
                    }
                }
                [[maybe_unused]] clock::time_point resumed{};
                if constexpr (host_t::observed) resumed = clock::now();
                ctx.drain();
                if (ctx.fatal()) std::rethrow_exception(ctx.fatal());
                if (root_.done()) {
                    run_.finished = true;
                    return done_ = true;
                }
                ctx.begin_round(ctx.idle());
                if constexpr (host_t::asynchronous || host_t::observed) round_open_ = true;
                if constexpr (host_t::observed) run_.host.round_began(resumed);
                run_.host.dispatch_round();
            }
        } catch (...) {
            run_.stop(std::current_exception());
            throw;
        }
    }

    /// True once the program has finished (or failed): `result` may be taken.
    [[nodiscard]] bool done() const noexcept { return done_; }

    /// What the batches in flight wait for, one entry per descriptor.
    [[nodiscard]] std::span<io_interest const> waits() {
        if constexpr (host_t::asynchronous) run_.host.collect_waits(waits_);
        return waits_;
    }

    /// When the earliest batch in flight times out, if one has a timeout.
    [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> deadline() const {
        if constexpr (host_t::asynchronous) {
            return run_.host.io_deadline();
        } else {
            return std::nullopt;
        }
    }

    /// `fd` is ready with the poll(2) events `revents`: the batches waiting on it advance.
    void ready(int fd, short revents) {
        if constexpr (host_t::asynchronous) run_.host.io_ready(fd, revents);
    }

    /// Fails the batches whose deadline is past `now` with `batch::timeout_error`.
    void expire(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
        if constexpr (host_t::asynchronous) run_.host.expire_io(now);
    }

    /// The program's result, or the exception that escaped it; the run must be done.
    result_type result() {
        if (!done_) throw usage_error("batch: the result of an active_run was taken before step() returned true");
        if constexpr (!host_t::observed) {
            return root_.await_resume();
        } else {
            try {
                if constexpr (std::is_void_v<result_type>) {
                    root_.await_resume();
                    run_.end(nullptr);
                } else {
                    result_type r = root_.await_resume();
                    run_.end(nullptr);
                    return r;
                }
            } catch (...) {
                run_.end(std::current_exception());
                throw;
            }
        }
    }

private:
    // True when the executor resumes generators in completion order (`batch::scheduling`).
    [[nodiscard]] bool completes_in_order() const noexcept {
        if constexpr (requires { run_.host.schedule(); }) {
            return run_.host.schedule() == scheduling::completion_order;
        } else {
            return false;
        }
    }

    // Completion order: the generators that the batches in so far answered resume now, and what
    // they yield is dispatched at once, as a round of its own, while the other batches are in
    // flight. False when nothing new was yielded.
    bool resume_early() {
        auto& ctx = run_.host.run_context();
        [[maybe_unused]] clock::time_point resumed{};
        if constexpr (host_t::observed) resumed = clock::now();
        ctx.drain();
        if (ctx.fatal()) std::rethrow_exception(ctx.fatal());
        if (ctx.idle()) return false;
        if constexpr (host_t::observed) run_.host.round_ended();
        ctx.begin_round(false);
        if constexpr (host_t::observed) run_.host.round_began(resumed);
        run_.host.dispatch_round();
        return true;
    }

    // The run of the executor, from its start to its end, whichever way it ends. Declared
    // before the root, so that it ends after the root (and every generator the root owns) is
    // gone: batches in flight, pending operations, batcher drivers and shared generators go last.
    struct run_guard {
        host_t& host;

        explicit run_guard(host_t& h) : host(h) { host.run_context().begin_run(); }
        run_guard(run_guard const&) = delete;
        run_guard& operator=(run_guard const&) = delete;
        ~run_guard() {
            if constexpr (host_t::asynchronous) host.cancel_io();
            host.run_context().clear_buckets();
            if constexpr (host_t::observed) {
                if (!ended)
                    end(finished
                            ? nullptr
                            : std::make_exception_ptr(usage_error("batch: the run was abandoned before it finished")));
            }
            host.run_context().end_run();
        }

        // The run fails with `e`: what is pending refers to frames about to go.
        void stop(std::exception_ptr const& e) noexcept {
            if constexpr (host_t::asynchronous) host.cancel_io();
            host.run_context().clear_buckets();
            host.run_context().release_shared(e);
            if constexpr (host_t::observed) end(e);
        }

        // Tells an observed executor that the run has ended (once).
        void end(std::exception_ptr const& e) noexcept {
            if (ended) return;
            ended = true;
            host.run_ended(e);
        }

        bool ended = false;
        bool finished = false; ///< The program finished, though its result was not taken.
    };

    run_guard run_;
    root_t root_;
    bool done_ = false;
    bool round_open_ = false; ///< Set only where a round stays open: waiting for batches, or to be reported.
    std::vector<io_interest> waits_;
};

template <class Executor, class Yielded>
active_run(Executor&, Yielded&&) -> active_run<Executor, Yielded>;

} // namespace batch
