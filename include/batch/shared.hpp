#pragma once

#include <batch/detail/base/frame_pool.hpp>
#include <batch/detail/base/fwd.hpp>
#include <batch/detail/base/this_thread.hpp>
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
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch {

namespace detail {

/// What `threads::one` keeps where `threads::any` keeps a `std::atomic<V>`: the same operations,
/// plain.
template <class V>
class plain_cell {
public:
    constexpr plain_cell(V v) noexcept : v_(v) {}
    [[nodiscard]] V load(std::memory_order) const noexcept { return v_; }
    void store(V v, std::memory_order) noexcept { v_ = v; }
    bool compare_exchange_strong(V& expected, V desired, std::memory_order) noexcept {
        if (v_ != expected) {
            expected = v_;
            return false;
        }
        v_ = desired;
        return true;
    }
    V fetch_add(V d, std::memory_order) noexcept { return std::exchange(v_, v_ + d); }
    V fetch_sub(V d, std::memory_order) noexcept { return std::exchange(v_, v_ - d); }

private:
    V v_;
};

template <class V, threads Th>
using sync_cell = std::conditional_t<Th == threads::any, std::atomic<V>, plain_cell<V>>;

/// The one run of a shared generator: its body, who waits for it, and its outcome once done.
/// The body runs as a generator of the run that first yields it, with this state as its
/// parent: when it finishes, `body_finished` keeps its outcome and wakes the waiting yields.
/// Owned by its handles and by the run that started it, until its body finishes (counted:
/// atomically with `threads::any`, plainly with `threads::one`); the last owner frees it.
template <class T, class Ops, threads Th>
class shared_state final : public shared_base {
public:
    explicit shared_state(gen<T, Ops> body) : body_(std::move(body)) {}
    ~shared_state() = default;

    /// A new state, owned by the caller (`release` it), from the frame pool: a program shares
    /// generators by the thousand.
    static shared_state* make(gen<T, Ops> body) {
        pool_allocator<shared_state> alloc;
        shared_state* const p = alloc.allocate(1);
        return ::new (static_cast<void*>(p)) shared_state(std::move(body)); // nothrow: moves a handle
    }

    /// One owner more, or one fewer (its handles, and the run that started it); the last one
    /// frees it.
    void retain() noexcept { owners_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (owners_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            this->~shared_state();
            pool_allocator<shared_state>{}.deallocate(this, 1);
        }
    }

    // Enrols the yield `w` of the run `ctx`: starts the body, waits for it, or finds it done.
    //
    // Threads (`threads::any`): the status and the driving context are atomics, so that a yield
    // from another thread's run reads nothing else before it is refused (see `misused`), and a
    // thread that sees `done` also sees the result. With `threads::one`, a yield on another
    // thread than the one that shared it is refused first.
    //
    // `now`: an idle body runs at once to its first suspension (`scheduler::start_now`) instead
    // of waiting in the queue; nothing can fail once it has started.
    void enroll(waiter& w, context<Ops>& ctx, bool now = false) {
        if constexpr (Th == threads::one) {
            if (home_ != this_thread()) {
                throw usage_error("batch: a batch::shared made with batch::share<batch::threads::one> was yielded on "
                                  "another thread than the one that shared it; share it with batch::share to use it "
                                  "on several threads");
            }
        }
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
                run_place_ = ctx.track(*this);
                retain(); // the run's
                auto const h = gen_access::handle(body_);
                if (!now) ctx.schedule(h);
                h.promise().start_shared(ctx, *this);
            } catch (...) {
                remove_waiter(w);
                driver_ctx_.store(nullptr, std::memory_order_release);
                throw;
            }
            status_.store(status::running, std::memory_order_relaxed);
            ++w.remaining;
            if (now) ctx.start_now(gen_access::handle(body_));
            return;
        }
        }
    }

    // Undoes `enroll` for a yield that failed part-way (the run's queue has already dropped the
    // body, which has not run). The yield that started the body is its first waiter: an idle
    // body has none, and only that yield's enrolment can have failed since it started.
    void disown(waiter const& w) noexcept {
        bool const started_here = first_waiter_ == &w;
        remove_waiter(w);
        if (status_.load(std::memory_order_relaxed) == status::running && started_here) {
            gen_access::handle(body_).promise().unstart();
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

    void run_ended(std::exception_ptr const& e, scheduler const& run) noexcept override {
        if (status_.load(std::memory_order_acquire) != status::done) abandon(e, run);
        release();
    }

    // Keeps the body's outcome, wakes every yield that waits for it, and ends the run's
    // ownership (the run need not end it any more).
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
        auto more = std::move(more_waiters_);
        driver_ctx_.store(nullptr, std::memory_order_relaxed);
        status_.store(status::done, std::memory_order_release); // publishes the result
        ctx->untrack(run_place_);
        if (first) ctx->complete(*first);
        if (more) {
            for (waiter* w : *more) ctx->complete(*w);
        }
        release(); // the run's, last: it may free this state, and the body's frame with it
    }

private:
    enum class status : unsigned char { idle, running, done };

    [[noreturn]] static void misused() {
        throw usage_error("batch: yielded a batch::shared generator that another executor's run is driving (on "
                          "this thread or another); yield it from that run, or after that run has finished it");
    }

    // Ends a body that the run `run` started and can no longer drive: the run owns this state
    // meanwhile, so destroying the frame, which drops the handles it holds, cannot free it.
    void abandon(std::exception_ptr const& e, scheduler const& run) noexcept {
        if (static_cast<scheduler const*>(driver_ctx_.load(std::memory_order_acquire)) != &run) return;
        error_ = e ? e : std::make_exception_ptr(error("batch: a shared generator's run ended before it finished"));
        first_waiter_ = nullptr;
        more_waiters_.reset();
        driver_ctx_.store(nullptr, std::memory_order_relaxed);
        status_.store(status::done, std::memory_order_release);
        body_ = {};
    }

    void add_waiter(waiter& w) {
        if (!first_waiter_) {
            first_waiter_ = &w;
        } else {
            if (!more_waiters_) more_waiters_ = std::make_unique<std::vector<waiter*>>();
            more_waiters_->push_back(&w);
        }
    }

    void remove_waiter(waiter const& w) noexcept {
        if (first_waiter_ == &w) {
            first_waiter_ = nullptr;
        } else if (more_waiters_) {
            std::erase(*more_waiters_, &w);
        }
    }

    gen<T, Ops> body_;
    sync_cell<std::uint32_t, Th> owners_ = 1; ///< The maker's.
    sync_cell<status, Th> status_ = status::idle;
    sync_cell<context<Ops>*, Th> driver_ctx_ = nullptr;
    void const* const home_ = this_thread(); ///< The thread that shared it (checked with threads::one).
    std::size_t run_place_ = 0;              ///< Its place among the shared generators of the run driving it.
    // Most shared generators have one waiter at a time: no allocation for it.
    waiter* first_waiter_ = nullptr;
    std::unique_ptr<std::vector<waiter*>> more_waiters_;
    std::optional<stored_t<T>> value_;
    std::exception_ptr error_;
};

struct shared_access {
    template <class S>
    static auto* state(S const& s) noexcept {
        return s.state_;
    }

    /// The handle that takes over the caller's ownership of `state`.
    template <class S, class State>
    static S adopt(State* state) noexcept {
        return S(state);
    }
};

// A shared generator: runs once; every yield of any copy gets its kept result.
template <class T, class Ops, threads Th>
struct yield_traits<shared<T, Ops, Th>, Ops> {
    static constexpr bool valid = true;
    using result = T;
    using slots = no_slots;

    template <bool Owned>
    static void enroll(shared<T, Ops, Th> const& s, slots&, waiter& w, context<Ops>& ctx) {
        state_of(s).enroll(w, ctx);
    }

    /// Enrols `s`, running its body at once if this starts it (see `yield_traits<gen>`).
    static void start_now(shared<T, Ops, Th> const& s, waiter& w, context<Ops>& ctx) {
        state_of(s).enroll(w, ctx, true);
    }

    static void disown(shared<T, Ops, Th> const& s, waiter const& w) noexcept {
        if (auto* const state = shared_access::state(s)) state->disown(w);
    }

    template <bool Owned>
    static result take(shared<T, Ops, Th> const& s, slots&) {
        return shared_access::state(s)->take();
    }

private:
    // The state of `s`, which must not be empty.
    static auto& state_of(shared<T, Ops, Th> const& s) {
        auto* const state = shared_access::state(s);
        if (!state) throw usage_error("batch: yielded or ran an empty batch::shared; make it with batch::share");
        return *state;
    }
};

} // namespace detail

/// A copyable handle to a generator that runs once however many times it is yielded: every
/// yield, in this run or a later one, on this executor or another, gets its kept result or
/// exception. With `Th = threads::one` (`batch::share<batch::threads::one>`), every copy stays
/// on the thread that shared it, and copying costs no atomic operation.
template <class T, class Ops, threads Th>
class shared {
public:
    using value_type = T;
    using operation_set = Ops;

    /// An empty handle; yielding it throws `batch::usage_error`.
    shared() noexcept = default;

    shared(shared const& other) noexcept : state_(other.state_) {
        if (state_) state_->retain();
    }
    shared(shared&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    shared& operator=(shared other) noexcept {
        std::swap(state_, other.state_);
        return *this;
    }
    ~shared() {
        if (state_) state_->release();
    }

    /// True unless empty.
    [[nodiscard]] bool valid() const noexcept { return state_ != nullptr; }

    /// True when both are copies of one shared generator (or both empty).
    friend bool operator==(shared const& a, shared const& b) noexcept { return a.state_ == b.state_; }

private:
    friend detail::shared_access;

    explicit shared(detail::shared_state<T, Ops, Th>* state) noexcept : state_(state) {}

    detail::shared_state<T, Ops, Th>* state_ = nullptr;
};

/// Makes `g` shareable: the returned handle may be copied and yielded from any number of
/// generators; `g` runs once. `share<threads::one>(g)` makes a handle whose copies all stay on
/// this thread (cheaper: no atomics); `share(g)` one that may be used on any thread.
template <threads Th = threads::any, class T, class Ops>
[[nodiscard]] shared<T, Ops, Th> share(gen<T, Ops> g) {
    // Checked here, not in shared itself: clang leaves a class that fails its own assertion
    // unusable, and would report every later use of it too.
    static_assert(std::is_void_v<T> || std::copy_constructible<T>,
                  "batch: batch::shared<T, Ops> gives its result to every yield, so T must be copyable");
    auto const h = detail::gen_access::handle(g);
    if (!h) throw usage_error("batch: share was given a moved-from or empty batch::gen");
    if (h.promise().started()) throw usage_error("batch: share was given a batch::gen that has already started");
    return detail::shared_access::adopt<shared<T, Ops, Th>>(detail::shared_state<T, Ops, Th>::make(std::move(g)));
}

} // namespace batch
