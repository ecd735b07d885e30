#pragma once

// Asio 1.18 (Boost 1.74) uses std::move without including <utility> in places; with g++ 12
// that must come first.
#include <utility>

#include <batch/active_run.hpp>
#include <batch/asio/detail/descriptors.hpp>
#include <batch/async_batcher.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <poll.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

namespace batch::asio {
namespace detail {

namespace asio = boost::asio;

/// What `async_run` completes with: the run's result, or an empty placeholder when that result
/// cannot be made without a value (so that a failure can be reported).
template <class T>
using completion_value_t = std::conditional_t<std::is_default_constructible_v<T>, T, std::optional<T>>;

/// What `complete` keeps of the result until the handler runs (nothing, for `void`).
template <class T>
struct kept_value {
    using type = std::optional<completion_value_t<T>>;
};
template <>
struct kept_value<void> {
    using type = std::optional<char>;
};

template <class T>
struct completion_signature {
    using type = void(std::exception_ptr, completion_value_t<T>);
};
template <>
struct completion_signature<void> {
    using type = void(std::exception_ptr);
};

/// The item a run drives: the item itself, or what an lvalue's `std::reference_wrapper` refers to.
template <class T>
T& unwrap(std::reference_wrapper<T> r) noexcept {
    return r.get();
}
template <class T>
T& unwrap(T& t) noexcept {
    return t;
}

/// The handler of one run, and the work it keeps alive on the handler's executor, until the run
/// ends: `finish` takes the run's result (or the failure that taking it throws), ends the run
/// (so that its executor is free when the handler runs), and posts the handler to its own
/// executor with the result or the failure. `async_run` and `batch::asio::loop` both end their
/// runs through it.
template <class Handler, class Result, class IoExecutor>
class completion {
    using handler_executor = asio::associated_executor_t<Handler, IoExecutor>;

public:
    completion(Handler handler, IoExecutor const& io)
        : handler_(std::move(handler)), work_(asio::make_work_guard(asio::get_associated_executor(handler_, io))) {}

    /// Ends `run` (if it started) with `failure`, or with its result; returns whether the handler
    /// gets a failure.
    template <class Run>
    bool finish(std::optional<Run>& run, std::exception_ptr failure) {
        typename kept_value<Result>::type value;
        if (run && !failure) {
            try {
                if constexpr (std::is_void_v<Result>) {
                    run->result();
                } else {
                    value.emplace(run->result());
                }
            } catch (...) {
                failure = std::current_exception();
            }
        }
        if constexpr (!std::is_void_v<Result>) {
            if (!value) value.emplace();
        }
        run.reset();
        auto handler_ex = work_.get_executor();
        work_.reset();
        asio::defer(handler_ex, [handler = std::move(handler_), failure, value = std::move(value)]() mutable {
            if constexpr (std::is_void_v<Result>) {
                std::move(handler)(failure);
            } else {
                std::move(handler)(failure, std::move(*value));
            }
        });
        return failure != nullptr;
    }

private:
    Handler handler_;
    asio::executor_work_guard<handler_executor> work_;
};

/// One run driven by an Asio event loop: steps it on a strand of the I/O executor, and between
/// steps waits for its descriptors (through the io_context's `descriptors`, where each stays
/// registered for as long as it is the same socket, whichever runs share it) and for its
/// deadline with a timer.
template <class Executor, class Yielded, class Handler, class Strand>
class run_operation : public std::enable_shared_from_this<run_operation<Executor, Yielded, Handler, Strand>> {
    using run_t = active_run<Executor, Yielded>;
    using result_t = typename run_t::result_type;

public:
    run_operation(Strand strand, Handler handler)
        : strand_(std::move(strand)), completion_(std::move(handler), strand_), timer_(strand_),
          registry_(descriptors::of(strand_.get_inner_executor())),
          watcher_([this](int fd, short revents, std::uint64_t generation) {
              // A continuation of the io_context's own work (a wait that completed, a step):
              // deferred, it does not interrupt the reactor (an epoll_ctl) to be seen.
              asio::defer(strand_, [self = this->shared_from_this(), fd, revents, generation] {
                  if (generation == self->generation_) {
                      self->filing([&] { self->ready(fd, revents); });
                  } else {
                      self->registry_.hand_over(self->watcher_); // if it was to read for all
                  }
              });
          }) {}

    run_operation(run_operation const&) = delete;
    run_operation& operator=(run_operation const&) = delete;
    ~run_operation() { registry_.forget(watcher_); }

    /// Starts the run (on the strand: the executor is touched only there). Until it starts, the
    /// executor refuses to move (`batch::usage_error`): the strand's task points at it.
    template <class Item>
    void start(Executor& ex, Item item) {
        auto& sched = batch::detail::host_access::host(ex).run_context();
        sched.announce_run();
        std::unique_ptr<batch::detail::scheduler, withdrawal> announced(&sched);
        asio::dispatch(strand_, [self = this->shared_from_this(), &ex, item = std::move(item),
                                 announced = std::move(announced)]() mutable {
            announced.reset(); // the run starts now (or fails to): it holds the executor from here
            self->filing([&] {
                try {
                    self->run_.emplace(ex, std::forward<Yielded>(unwrap(item)));
                } catch (...) {
                    self->complete(std::current_exception());
                    return;
                }
                self->proceed();
            });
        });
    }

private:
    // Withdraws the announcement of a run that starts, or that never will (its task destroyed).
    struct withdrawal {
        void operator()(batch::detail::scheduler* s) const noexcept { s->withdraw_run(); }
    };

    // Does `f` (a step of the run, or its end), then wakes the runs whose answers it filed.
    template <class F>
    void filing(F&& f) {
        registry_.filing(watcher_, std::forward<F>(f));
    }

    // Steps the run until it is done or waits for I/O; then completes, or arms the waits.
    void proceed() {
        try {
            if (run_->step()) {
                complete(nullptr);
            } else {
                arm();
            }
        } catch (...) {
            complete(std::current_exception());
        }
    }

    void arm() {
        std::uint64_t const generation = ++generation_;
        auto self = this->shared_from_this();
        registry_.watch(watcher_, run_->waits(), generation, self);
        if (auto const deadline = run_->deadline()) {
            timer_.expires_at(*deadline);
            timer_.async_wait([self, generation](boost::system::error_code const& ec) {
                if (ec || generation != self->generation_) return;
                self->filing([&] { self->ready(-1, 0); });
            });
        }
    }

    // A descriptor is ready (or, for -1, the deadline has come): hand it over, then go on.
    void ready(int fd, short revents) {
        ++generation_; // the other waits of this round are stale now
        registry_.forget(watcher_);
        timer_.cancel();
        try {
            if (fd >= 0) run_->ready(fd, revents);
            run_->expire();
        } catch (...) {
            complete(std::current_exception());
            return;
        }
        proceed();
    }

    // Ends the run (so that the executor is free when the handler runs), then calls the
    // handler on its own executor with the result or the failure.
    void complete(std::exception_ptr failure) {
        ++generation_;
        registry_.forget(watcher_);
        timer_.cancel();
        completion_.finish(run_, std::move(failure));
    }

    Strand strand_;
    completion<Handler, result_t, Strand> completion_;
    asio::steady_timer timer_;
    descriptors& registry_;
    watcher watcher_;
    std::optional<run_t> run_;
    std::uint64_t generation_ = 0;
};

} // namespace detail

/// Runs `x` on `ex` inside an Asio event loop, in Asio's completion-token style: `token` is a
/// callback `void(std::exception_ptr, T)` (`void(std::exception_ptr)` when `x` gives nothing),
/// `boost::asio::use_future`, or `boost::asio::use_awaitable` (where the compiler supports it).
/// Whenever a round waits for asynchronous batches, their descriptors are waited for through
/// `io` (an `io_context` or one of its executors), so one thread serves many runs at once, each on
/// its own executor. The executor is busy until the run completes; `x` is moved in, or, for an
/// lvalue, driven in place (it must then outlive the run). A `T` that is not
/// default-constructible arrives as `std::optional<T>`.
template <class IoContextOrExecutor, class Executor, class Yielded, class CompletionToken>
auto async_run(IoContextOrExecutor& io, Executor& ex, Yielded&& x, CompletionToken&& token) {
    using run_t = active_run<Executor, Yielded>;
    using signature = typename detail::completion_signature<typename run_t::result_type>::type;
    using item_t =
        std::conditional_t<std::is_lvalue_reference_v<Yielded>,
                           std::reference_wrapper<std::remove_reference_t<Yielded>>, std::remove_cvref_t<Yielded>>;
    auto initiate = [&io, &ex](auto handler, item_t item) {
        auto strand = boost::asio::make_strand(io);
        using op_t = detail::run_operation<Executor, Yielded, decltype(handler), decltype(strand)>;
        auto op = std::make_shared<op_t>(std::move(strand), std::move(handler));
        op->start(ex, std::move(item));
    };
    return boost::asio::async_initiate<CompletionToken, signature>(std::move(initiate), token,
                                                                   item_t(std::forward<Yielded>(x)));
}

} // namespace batch::asio
