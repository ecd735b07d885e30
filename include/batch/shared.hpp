#pragma once

#include <batch/detail/base/frame_pool.hpp>
#include <batch/detail/base/fwd.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/detail/run/context.hpp>
#include <batch/detail/run/scheduler.hpp>
#include <batch/detail/run/yield.hpp>
#include <batch/error.hpp>
#include <batch/gen.hpp>
#include <batch/operation.hpp>
#include <batch/operation_set.hpp>

#include <algorithm>
#include <atomic>
#include <concepts>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch {

template <class T, class Ops>
class shared;

namespace detail {

/// The one run of a shared generator: its body, who waits for it, and its outcome once done.
/// The body runs as a generator of the run that first yields it, with this state as its
/// parent: when it finishes, `body_finished` keeps its outcome and wakes the waiting yields.
template <class T, class Ops>
class shared_state final : public shared_base, public std::enable_shared_from_this<shared_state<T, Ops>> {
public:
    explicit shared_state(gen<T, Ops> body) : body_(std::move(body)) {}
    ~shared_state() = default;

    // Enrols the yield `w` of the run `ctx`: starts the body, waits for it, or finds it done.
    //
    // Threads: the status and the driving context are atomics, so that a yield from another
    // thread's run reads nothing else before it is refused (see `misused`), and a thread that
    // sees `done` also sees the result.
    void enroll(waiter& w, context<Ops>& ctx) {
        switch (status_.load(std::memory_order_acquire)) {
        case status::done:
            return;
        case status::running:
            if (driver_ctx_.load(std::memory_order_relaxed) != &ctx) misused();
            add_waiter(w);
            ++w.remaining;
            return;
        case status::idle: {
            context<Ops>* none = nullptr;
            if (!driver_ctx_.compare_exchange_strong(none, &ctx, std::memory_order_acquire)) misused();
            add_waiter(w);
            try {
                ctx.track(this->shared_from_this());
                auto const h = gen_access::handle(body_);
                ctx.schedule(h);
                h.promise().start_shared(ctx, *this);
            } catch (...) {
                remove_waiter(w);
                driver_ctx_.store(nullptr, std::memory_order_release);
                throw;
            }
            starter_ = &w;
            status_.store(status::running, std::memory_order_relaxed);
            ++w.remaining;
            return;
        }
        }
    }

    // Undoes `enroll` for a yield that failed part-way (the run's queue has already dropped the
    // body, which has not run).
    void disown(waiter const& w) noexcept {
        remove_waiter(w);
        if (status_.load(std::memory_order_relaxed) == status::running && starter_ == &w) {
            gen_access::handle(body_).promise().unstart();
            starter_ = nullptr;
            status_.store(status::idle, std::memory_order_relaxed);
            driver_ctx_.store(nullptr, std::memory_order_release);
        }
    }

    T take() const {
        if (error_) std::rethrow_exception(error_);
        if constexpr (std::is_void_v<T>) {
            return;
        } else if constexpr (std::copy_constructible<T>) {
            return *value_;
        } else {
            std::terminate(); // never compiled into a program: batch::shared refuses such a T
        }
    }

    void abandon(std::exception_ptr e, scheduler const& run) noexcept override {
        if (static_cast<scheduler const*>(driver_ctx_.load(std::memory_order_acquire)) != &run) return;
        error_ = e ? std::move(e)
                   : std::make_exception_ptr(error("batch: a shared generator's run ended before it finished"));
        first_waiter_ = nullptr;
        more_waiters_.clear();
        driver_ctx_.store(nullptr, std::memory_order_relaxed);
        status_.store(status::done, std::memory_order_release);
        // Destroying the frame drops the handles it holds, which may own this state: keep it.
        auto const keep = this->shared_from_this();
        body_ = {};
    }

    [[nodiscard]] bool finished() const noexcept override {
        return status_.load(std::memory_order_acquire) == status::done;
    }

    // Keeps the body's outcome, then wakes every yield that waits for it.
    void body_finished() noexcept override {
        try {
            auto& body = gen_access::handle(body_).promise();
            if constexpr (std::is_void_v<T>) {
                body.take();
            } else {
                value_.emplace(body.take());
            }
        } catch (...) {
            error_ = std::current_exception();
        }
        auto* const ctx = driver_ctx_.load(std::memory_order_relaxed);
        waiter* const first = std::exchange(first_waiter_, nullptr);
        auto more = std::exchange(more_waiters_, {});
        driver_ctx_.store(nullptr, std::memory_order_relaxed);
        status_.store(status::done, std::memory_order_release); // publishes the result
        if (first) ctx->complete(*first);
        for (waiter* w : more) ctx->complete(*w);
    }

private:
    enum class status { idle, running, done };

    [[noreturn]] static void misused() {
        throw usage_error("batch: yielded a batch::shared generator that another executor's run is driving (on "
                          "this thread or another); yield it from that run, or after that run has finished it");
    }

    void add_waiter(waiter& w) {
        if (!first_waiter_) {
            first_waiter_ = &w;
        } else {
            more_waiters_.push_back(&w);
        }
    }

    void remove_waiter(waiter const& w) noexcept {
        if (first_waiter_ == &w) {
            first_waiter_ = nullptr;
        } else {
            std::erase(more_waiters_, &w);
        }
    }

    gen<T, Ops> body_;
    std::atomic<status> status_ = status::idle;
    std::atomic<context<Ops>*> driver_ctx_ = nullptr;
    waiter const* starter_ = nullptr;
    waiter* first_waiter_ = nullptr;    ///< Most shared generators have one waiter at a time:
    std::vector<waiter*> more_waiters_; ///< no allocation for it.
    std::optional<stored_t<T>> value_;
    std::exception_ptr error_;
};

struct shared_access {
    template <class S>
    static auto* state(S const& s) noexcept {
        return s.state_.get();
    }
};

// A shared generator: runs once; every yield of any copy gets its kept result.
template <class T, class Ops>
struct yield_traits<shared<T, Ops>, Ops> {
    static constexpr bool valid = true;
    using result = T;
    using slots = no_slots;

    template <bool Owned>
    static void enroll(shared<T, Ops> const& s, slots&, waiter& w, context<Ops>& ctx) {
        auto* const state = shared_access::state(s);
        if (!state) throw usage_error("batch: yielded or ran an empty batch::shared; make it with batch::share");
        state->enroll(w, ctx);
    }

    static void disown(shared<T, Ops> const& s, waiter const& w) noexcept {
        if (auto* const state = shared_access::state(s)) state->disown(w);
    }

    template <bool Owned>
    static result take(shared<T, Ops> const& s, slots&) {
        return shared_access::state(s)->take();
    }
};

} // namespace detail

/// A copyable handle to a generator that runs once however many times it is yielded: every
/// yield, in this run or a later one, on this executor or another, gets its kept result or
/// exception.
template <class T, class Ops>
class shared {
public:
    using value_type = T;
    using operation_set = Ops;

    /// An empty handle; yielding it throws `batch::usage_error`.
    shared() noexcept = default;

    /// True unless empty.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(state_); }

    friend bool operator==(shared const&, shared const&) = default;

private:
    template <class U, class O>
    friend shared<U, O> share(gen<U, O> g);
    friend detail::shared_access;

    explicit shared(std::shared_ptr<detail::shared_state<T, Ops>> state) noexcept : state_(std::move(state)) {}

    std::shared_ptr<detail::shared_state<T, Ops>> state_;
};

/// Makes `g` shareable: the returned handle may be copied and yielded from any number of
/// generators; `g` runs once.
template <class T, class Ops>
[[nodiscard]] shared<T, Ops> share(gen<T, Ops> g) {
    // Checked here, not in shared itself: clang leaves a class that fails its own assertion
    // unusable, and would report every later use of it too.
    static_assert(std::is_void_v<T> || std::copy_constructible<T>,
                  "batch: batch::shared<T, Ops> gives its result to every yield, so T must be copyable");
    auto const h = detail::gen_access::handle(g);
    if (!h) throw usage_error("batch: share was given a moved-from or empty batch::gen");
    if (h.promise().started()) throw usage_error("batch: share was given a batch::gen that has already started");
    // The state comes from the frame pool: a program shares generators by the thousand.
    return shared<T, Ops>(std::allocate_shared<detail::shared_state<T, Ops>>(
        detail::pool_allocator<detail::shared_state<T, Ops>>{}, std::move(g)));
}

} // namespace batch
