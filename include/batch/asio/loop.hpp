#pragma once

// Asio 1.18 (Boost 1.74) uses std::move without including <utility> in places; with g++ 12
// that must come first.
#include <utility>

#include <batch/active_run.hpp>
#include <batch/asio/async_run.hpp>
#include <batch/async_batcher.hpp>
#include <batch/detail/checks/batcher_set.hpp>
#include <batch/detail/serve/hub.hpp>
#include <batch/detail/serve/ticket.hpp>
#include <batch/error.hpp>
#include <batch/executor.hpp>
#include <batch/operation_set.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <poll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <vector>

namespace batch::asio {

/// What a loop has done since it was made (see `loop::stats`).
struct loop_stats {
    std::size_t requests = 0;      ///< Requests submitted.
    std::size_t completed = 0;     ///< Requests that have ended, with their result or their failure.
    std::size_t failed = 0;        ///< Of those, the ones that ended with an exception.
    std::size_t turns = 0;         ///< Turns of the loop that sent batches.
    std::size_t batches = 0;       ///< Batcher calls, each carrying the operations of many requests.
    std::size_t operations = 0;    ///< Operations passed to batchers.
    std::size_t deduplicated = 0;  ///< Identical operations of different requests sent once.
    std::size_t largest_batch = 0; ///< Operations in the largest batcher call.
};

template <class Ops, class... Batchers>
class loop;

namespace detail {

namespace asio = boost::asio;
namespace serve = batch::detail::serve;

template <class Set, class Op, bool = Set::ok>
struct hub_for {
    using type =
        serve::hub<Op, typename Set::template batcher_t<Op>, Set::template kind<Op>, Set::template max_batch_size<Op>>;
};
template <class Set, class Op>
struct hub_for<Set, Op, false> {
    using type = void;
};

/// True when a loop can serve the operation type: a generator batcher cannot (its call would
/// belong to one request's run).
template <class Set, class Op>
inline constexpr bool loop_serves = [] {
    if constexpr (Set::ok) {
        return Set::template kind<Op> != batch::detail::batcher_kind::generator;
    } else {
        return true;
    }
}();

template <class Ops, class... Batchers>
class loop_core;

/// What a loop shares with the work it has posted: the batchers, one hub per operation type,
/// the requests' slots, and the waits for the batches in flight. Posted work holds it alive
/// until it has run; a loop that is destroyed first shuts it down.
template <class... Ops, class... Batchers>
class loop_core<operations<Ops...>, Batchers...>
    : public std::enable_shared_from_this<loop_core<operations<Ops...>, Batchers...>> {
    using ops_t = operations<Ops...>;
    using set = batch::detail::batcher_set<ops_t, Batchers...>;

public:
    template <class Op>
    using hub_t = typename hub_for<set, Op>::type;
    template <class Op>
    using forwarder_t = serve::forwarder<Op, hub_t<Op>>;
    /// The executor each request runs on: its own cache, statistics and failures; its batches
    /// go to the loop's hubs.
    using executor_t = batch::executor<ops_t, forwarder_t<Ops>...>;

    template <class... Bs>
    loop_core(asio::io_context& io, Bs&&... batchers)
        : strand_(asio::make_strand(io)), timer_(strand_), registry_(descriptors::of(io.get_executor())),
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
          }),
          batchers_(std::forward<Bs>(batchers)...), hubs_(std::get<set::template index<Ops>>(batchers_)...) {}

    loop_core(loop_core const&) = delete;
    loop_core& operator=(loop_core const&) = delete;

    /// A slot runs one request at a time on its own executor, and is reused for the next.
    class slot final : public serve::wakeable {
    public:
        explicit slot(loop_core& core)
            : core_(&core), ex_(batch::make_executor<ops_t>(forwarder_t<Ops>(core.template hub<Ops>(), *this)...)) {}

        void wake() noexcept override { core_->make_runnable(*this); }

        executor_t& executor() noexcept { return ex_; }

        /// The request on this slot, whatever it runs (`step` is true once it has ended).
        struct running {
            virtual ~running() = default;
            virtual bool step() = 0;
            virtual void fail(std::exception_ptr e) noexcept = 0;
        };

        std::unique_ptr<running> current;
        std::uint64_t serial = 0; ///< Counts the requests this slot has run: a deadline knows its own.
        bool runnable = false;

    private:
        loop_core* core_;
        executor_t ex_;
    };

    template <class Op>
    hub_t<Op>& hub() noexcept {
        return std::get<ops_t::template index_of<Op>>(hubs_);
    }

    /// See `loop::batch_across_requests`.
    void across_requests(bool on) noexcept { across_requests_ = on; }

    /// See `loop::set_scheduling`.
    void schedule(scheduling s) noexcept { scheduling_ = s; }

    /// See `loop::set_max_in_flight`.
    void limit_in_flight(std::size_t n) noexcept { max_in_flight_ = n; }

    loop_stats stats() const noexcept {
        loop_stats s = requests_;
        s.batches = counts_.batches;
        s.operations = counts_.operations;
        s.deduplicated = counts_.deduplicated;
        s.largest_batch = counts_.largest_batch;
        return s;
    }

    ~loop_core() { registry_.forget(watcher_); }

    /// Starts a request on the loop's strand; with a `timeout` above zero, the request ends with
    /// `batch::timeout_error` if it has not finished that long after it started.
    template <class Yielded, class Handler, class Item>
    void start(Handler handler, Item item, batch::detail::clock::duration timeout = {}) {
        asio::post(strand_, [self = this->shared_from_this(), handler = std::move(handler), item = std::move(item),
                             timeout]() mutable {
            self->template begin<Yielded>(std::move(handler), std::move(item), timeout);
        });
    }

    /// The loop is going away: every request still running ends with `batch::usage_error`.
    void shut_down() {
        asio::post(strand_, [self = this->shared_from_this()] { self->stop_all(); });
    }

    /// The requests woken since the last turn; a turn is posted when the first wakes.
    void make_runnable(slot& s) noexcept {
        if (s.runnable || !s.current) return;
        s.runnable = true;
        runnable_.push_back(&s);
        post_turn();
    }

private:
    template <class Yielded, class Handler>
    class request final : public slot::running {
        using run_t = active_run<executor_t, Yielded>;
        using result_t = typename run_t::result_type;
        using strand_t = asio::strand<asio::io_context::executor_type>;

    public:
        template <class Item>
        request(slot& s, Handler handler, Item&& item, strand_t const& strand, loop_stats& stats)
            : completion_(std::move(handler), strand), stats_(&stats) {
            try {
                run_.emplace(s.executor(), std::forward<Yielded>(unwrap(item)));
            } catch (...) {
                start_failure_ = std::current_exception();
            }
        }

        bool step() override {
            if (start_failure_) {
                complete(start_failure_);
                return true;
            }
            try {
                if (!run_->step()) return false;
            } catch (...) {
                complete(std::current_exception());
                return true;
            }
            complete(nullptr);
            return true;
        }

        void fail(std::exception_ptr e) noexcept override { complete(std::move(e)); }

    private:
        // Ends the run (so that the slot is free when the handler runs), then posts the handler
        // with the result or the failure to its own executor.
        void complete(std::exception_ptr failure) noexcept {
            bool const failed = completion_.finish(run_, std::move(failure));
            ++stats_->completed;
            if (failed) ++stats_->failed;
        }

        completion<Handler, result_t, strand_t> completion_;
        loop_stats* stats_;
        std::optional<run_t> run_;
        std::exception_ptr start_failure_;
    };

    template <class Yielded, class Handler, class Item>
    void begin(Handler handler, Item item, batch::detail::clock::duration timeout) {
        ++requests_.requests;
        slot& s = take_slot();
        s.executor().clear_cache(); // what an earlier request on this executor cached is not this one's
        s.executor().set_scheduling(scheduling_);
        ++s.serial;
        s.current =
            std::make_unique<request<Yielded, Handler>>(s, std::move(handler), std::move(item), strand_, requests_);
        if (timeout > timeout.zero()) watch(s, timeout);
        make_runnable(s);
    }

    // Ends the request on `s` with `batch::timeout_error` if it is still running after `timeout`:
    // its operations not sent yet are dropped, the answers of those sent are ignored when they
    // come, and the other requests go on.
    void watch(slot& s, batch::detail::clock::duration timeout) {
        auto timer = std::make_shared<asio::steady_timer>(strand_, timeout);
        std::uint64_t const serial = s.serial;
        timer->async_wait([self = this->shared_from_this(), timer, &s, serial, timeout](boost::system::error_code) {
            if (self->stopped_ || s.serial != serial || !s.current) return; // it has ended
            auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
            s.current->fail(std::make_exception_ptr(timeout_error(
                "batch: the request did not finish within its timeout of " + std::to_string(ms)
                + " ms; its operations not yet sent were dropped, and the answers of those sent are ignored")));
            s.current.reset();
            self->free_.push_back(&s);
        });
    }

    slot& take_slot() {
        if (free_.empty()) {
            slots_.push_back(std::make_unique<slot>(*this));
            return *slots_.back();
        }
        slot* s = free_.back();
        free_.pop_back();
        return *s;
    }

    void post_turn() noexcept {
        if (turn_posted_ || stopped_) return;
        turn_posted_ = true;
        try {
            asio::post(strand_, [self = this->shared_from_this()] { self->filing([&] { self->turn(); }); });
        } catch (...) {
            turn_posted_ = false; // the next wake tries again
        }
    }

    // Does `f` (a turn), then wakes the runs elsewhere whose answers it filed.
    template <class F>
    void filing(F&& f) {
        registry_.filing(watcher_, std::forward<F>(f));
    }

    // One turn: every woken request runs until it waits again; then what they queued is sent,
    // one call per operation type and key for all of them.
    void turn() {
        turn_posted_ = false;
        if (stopped_) return;
        auto woken = std::move(runnable_);
        runnable_.clear();
        for (slot* s : woken) {
            s->runnable = false;
            if (!s->current) continue; // its deadline ended it
            if (s->current->step()) {
                s->current.reset();
                free_.push_back(s);
            }
        }
        bool sent = false;
        each_hub([&](auto& h) { sent = h.flush(counts_, across_requests_, max_in_flight_) || sent; });
        if (sent) ++requests_.turns;
        each_hub([](auto& h) {
            if constexpr (std::remove_reference_t<decltype(h)>::asynchronous) h.settle();
        });
        arm();
    }

    // Waits for the descriptors of the batches in flight, and for the earliest deadline.
    void arm() {
        registry_.forget(watcher_);
        timer_.cancel();
        waits_.clear();
        each_hub([&](auto& h) { h.collect_waits(waits_); });
        std::optional<batch::detail::clock::time_point> deadline;
        each_hub([&](auto& h) {
            if (auto d = h.deadline(); d && (!deadline || *d < *deadline)) deadline = d;
        });
        if (waits_.empty() && !deadline) return;
        std::uint64_t const generation = ++generation_;
        auto self = this->shared_from_this();
        registry_.watch(watcher_, waits_, generation, self);
        if (deadline) {
            timer_.expires_at(*deadline);
            timer_.async_wait([self, generation](boost::system::error_code const& ec) {
                if (ec || generation != self->generation_) return;
                self->filing([&] { self->ready(-1, 0); });
            });
        }
    }

    // A descriptor is ready (or, for -1, a deadline has come): the batches on it, and on every
    // other descriptor ready now, advance; then a turn resumes the requests they answered.
    void ready(int fd, short revents) {
        ++generation_;
        registry_.forget(watcher_);
        if (fd >= 0) advance(fd, revents);
        std::vector<pollfd> others;
        for (io_interest const& w : waits_) {
            if (w.fd != fd) others.push_back({w.fd, w.events, 0});
        }
        if (!others.empty() && ::poll(others.data(), others.size(), 0) > 0) {
            for (pollfd const& p : others) {
                if (p.revents) advance(p.fd, p.revents);
            }
        }
        auto const now = batch::detail::clock::now();
        each_hub([&](auto& h) { h.expire(now); });
        turn();
    }

    void advance(int fd, short revents) {
        each_hub([&](auto& h) { h.ready(fd, revents); });
    }

    // Ends everything: the batches in flight are cancelled, and each request still running
    // ends with `batch::usage_error`.
    void stop_all() noexcept {
        stopped_ = true;
        ++generation_;
        registry_.forget(watcher_);
        timer_.cancel();
        auto const e = std::make_exception_ptr(
            usage_error("batch: the batch::asio::loop was destroyed before this request finished"));
        for (auto& s : slots_) {
            if (s->current) {
                s->current->fail(e);
                s->current.reset();
            }
        }
        each_hub([&](auto& h) { h.cancel_all(); });
    }

    template <class F>
    void each_hub(F&& f) {
        std::apply([&](auto&... h) { (f(h), ...); }, hubs_);
    }

    asio::strand<asio::io_context::executor_type> strand_;
    asio::steady_timer timer_;
    descriptors& registry_;
    watcher watcher_;
    std::tuple<Batchers...> batchers_;
    std::tuple<hub_t<Ops>...> hubs_;
    std::vector<std::unique_ptr<slot>> slots_;
    std::vector<slot*> free_;
    std::vector<slot*> runnable_;
    std::vector<io_interest> waits_;
    std::uint64_t generation_ = 0;
    loop_stats requests_; ///< The requests' counts (and turns); the batches' are in `counts_`.
    serve::hub_counts counts_;
    bool turn_posted_ = false;
    bool stopped_ = false;
    bool across_requests_ = true;
    scheduling scheduling_ = scheduling::rounds;
    std::size_t max_in_flight_ = 0;
};

} // namespace detail

/// Serves many requests at once on one Asio event loop, batching across them: on each turn of
/// the loop, the operations that all live requests are blocked on are merged into one batcher
/// call per operation type (and `batch_key`), and each request resumes as soon as the calls it
/// waits on have answered. Each request runs on an executor of its own: its own cache,
/// statistics and failures (no cached result of one request is served to another; identical
/// operations of deduplicating types in flight together are sent once, and counted). Plain
/// batchers are called on the loop's thread; asynchronous ones wait through the io_context.
/// Make one with `batch::asio::make_loop<Ops>(io, batchers...)`; submit with `async_run`.
/// Everything happens on a strand of `io`; the loop must be destroyed on a thread that does not
/// run `io` concurrently, and a request still running then ends with `batch::usage_error`.
template <class... Ops, class... Batchers>
class loop<operations<Ops...>, Batchers...> {
    using ops_t = operations<Ops...>;
    using set = batch::detail::batcher_set<ops_t, Batchers...>;
    static_assert(set::check());
    static_assert(set::observers == 0, "batch: a batch::asio::loop takes no observer; observe its requests' "
                                       "batches through the batchers, or run one request on an observed executor");
    static_assert((detail::loop_serves<set, Ops> && ...),
                  "batch: a batch::asio::loop cannot serve an operation type through a generator batcher (its call "
                  "would belong to one request); give that type a plain or an asynchronous batcher");
    using core_t = detail::loop_core<ops_t, Batchers...>;

public:
    using operation_set = ops_t;
    /// The executor each request runs on.
    using request_executor = typename core_t::executor_t;

    template <class... Bs>
    explicit loop(boost::asio::io_context& io, Bs&&... batchers)
        : core_(std::make_shared<core_t>(io, std::forward<Bs>(batchers)...)) {}

    loop(loop&&) noexcept = default;
    loop& operator=(loop&&) = delete;
    loop(loop const&) = delete;
    loop& operator=(loop const&) = delete;

    ~loop() {
        if (core_) core_->shut_down();
    }

    /// Runs `x` as one request, in Asio's completion-token style, as `batch::asio::async_run`
    /// does: `token` is a callback `void(std::exception_ptr, T)` (`void(std::exception_ptr)` when
    /// `x` gives nothing), `boost::asio::use_future`, or `boost::asio::use_awaitable`. `x` is
    /// moved in, or, for an lvalue, driven in place (it must then outlive the request).
    template <class Yielded, class CompletionToken>
    auto async_run(Yielded&& x, CompletionToken&& token) {
        return initiate(std::forward<Yielded>(x), batch::detail::clock::duration::zero(),
                        std::forward<CompletionToken>(token));
    }

    /// The same, with a deadline: a request still running `timeout` after it started ends with
    /// `batch::timeout_error`; its operations not sent yet are taken out of the batches they
    /// wait in, the answers of those sent are dropped when they come, and other requests go on.
    template <class Yielded, class Rep, class Period, class CompletionToken>
    auto async_run(Yielded&& x, std::chrono::duration<Rep, Period> timeout, CompletionToken&& token) {
        return initiate(std::forward<Yielded>(x), std::chrono::duration_cast<batch::detail::clock::duration>(timeout),
                        std::forward<CompletionToken>(token));
    }

    /// Whether the operations of different requests share batcher calls (the default), or each
    /// request's batches are sent as they are, as with one executor per request: for comparing
    /// the two on the same connections. Set it on the loop's thread, or when `io` is not running.
    void batch_across_requests(bool on) noexcept { core_->across_requests(on); }

    /// How each request proceeds while some of its batches are in and others are not (see
    /// `batch::scheduling`; `rounds` by default): with `completion_order`, a request resumes
    /// its generators as soon as the batches they wait on are in. Requests always resume as
    /// soon as their own batches are in, whatever other requests wait for. Set it on the
    /// loop's thread, or when `io` is not running; requests started later use it.
    void set_scheduling(scheduling s) noexcept { core_->schedule(s); }

    /// Back-pressure: at most `n` calls of each asynchronous batcher in flight at once (0, the
    /// default: no limit). While a batcher has `n` out, the operations of requests that need it
    /// wait in its queue, gathering into one call that goes when one comes back; nothing is
    /// dropped. (The chunks of one `max_batch_size` split go together.) Set it on the loop's
    /// thread, or when `io` is not running.
    void set_max_in_flight(std::size_t n) noexcept { core_->limit_in_flight(n); }

    /// What the loop has done so far. Read it on the loop's thread, or when `io` is not running.
    [[nodiscard]] loop_stats stats() const noexcept { return core_->stats(); }

private:
    template <class Yielded, class CompletionToken>
    auto initiate(Yielded&& x, batch::detail::clock::duration timeout, CompletionToken&& token) {
        using run_t = active_run<request_executor, Yielded>;
        using signature = typename detail::completion_signature<typename run_t::result_type>::type;
        using item_t =
            std::conditional_t<std::is_lvalue_reference_v<Yielded>,
                               std::reference_wrapper<std::remove_reference_t<Yielded>>, std::remove_cvref_t<Yielded>>;
        auto initiation = [core = core_, timeout](auto handler, item_t item) {
            core->template start<Yielded>(std::move(handler), std::move(item), timeout);
        };
        return boost::asio::async_initiate<CompletionToken, signature>(std::move(initiation), token,
                                                                       item_t(std::forward<Yielded>(x)));
    }

    std::shared_ptr<core_t> core_;
};

/// Makes a loop over `io` that serves the operation set `Ops` with `batchers` (one per
/// operation type, as `batch::make_executor` takes them).
template <class Ops, class... Batchers>
[[nodiscard]] auto make_loop(boost::asio::io_context& io, Batchers&&... batchers) {
    return loop<Ops, std::decay_t<Batchers>...>(io, std::forward<Batchers>(batchers)...);
}

} // namespace batch::asio
