#pragma once

#include <batch/detail/base/clock.hpp>
#include <batch/detail/base/frame_pool.hpp>
#include <batch/detail/base/pod_vector.hpp>
#include <batch/detail/base/this_thread.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/error.hpp>
#include <batch/stats.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch::detail {

/// One suspended yield: how many of its items are still pending, and whom to resume. The
/// awaiter of a yield of anything but one operation keeps it as its first member, without its
/// own tail padding, so that a 4-byte item fits in the 4 bytes after `remaining`; a yield of
/// one operation keeps its result's state there (`lone_waiter`).
struct waiter {
    /// The most items one yield can wait for (a vector or map beyond it is refused; reaching it
    /// through nesting would take over 100 GB of pending operations).
    static constexpr std::uint32_t most = 0xFFFF'FFFF;

    std::coroutine_handle<> handle{}; ///< Null for the root of a run.
    std::uint32_t remaining = 0;
};

/// Throws `e`: out of line, so that what a yield resumes with stays small enough to inline.
[[noreturn, gnu::cold, gnu::noinline]] inline void rethrow(std::exception_ptr const& e) { std::rethrow_exception(e); }

/// What the storage of one yielded operation holds: nothing yet, its result, or its failure.
/// A trivially copyable result is not recorded (`slot_cell::records_values`): the state stays
/// `empty` for it, which saves a store per delivery, and nothing needs to destroy it.
enum class slot_state : std::uint8_t { empty, value, error };

/// Storage for the result of one yielded operation or its failure. Which of them it holds is
/// kept beside it: in a `slot`, or, for a yield of one operation, in the yield's `lone_waiter`,
/// where it costs no space of its own.
template <class S>
class slot_cell {
public:
    /// False when a result needs no record: its state stays `empty` (see `slot_state`).
    static constexpr bool records_values = !std::is_trivially_copyable_v<S>;

    slot_cell() noexcept {}
    slot_cell(slot_cell const&) = delete;
    slot_cell& operator=(slot_cell const&) = delete;
    ~slot_cell() {} // the owner knows what it holds: `clear`

    template <class V>
    void put_value(V&& v) {
        ::new (static_cast<void*>(&value_)) S(std::forward<V>(v));
    }
    void put_error(std::exception_ptr e) noexcept {
        ::new (static_cast<void*>(&error_)) std::exception_ptr(std::move(e));
    }

    /// The result, or throws the failure: `state` says which it holds.
    S take(slot_state state) {
        if (state == slot_state::error) [[unlikely]]
            rethrow(error_);
        return std::move(value_);
    }

    /// Takes over what `other` holds, as `state` says.
    void put(slot_cell&& other, slot_state state) {
        if (state == slot_state::error) {
            put_error(other.error_);
        } else if constexpr (!records_values) {
            std::memcpy(static_cast<void*>(this), static_cast<void const*>(&other), sizeof(slot_cell));
        } else if (state == slot_state::value) {
            put_value(std::move(other.value_));
        }
    }

    /// Destroys what it holds, as `state` says.
    void clear(slot_state state) noexcept {
        if (state == slot_state::value) {
            value_.~S();
        } else if (state == slot_state::error) {
            error_.~exception_ptr();
        }
    }

private:
    union {
        S value_;
        std::exception_ptr error_;
    };
};

/// Where the result of one operation goes when it is not yielded alone by a generator: an
/// operation of a tuple, vector or map, the root of a run, or a runtime-typed operation.
template <class S>
class slot : public slot_cell<S> {
public:
    slot() = default;
    slot(slot&& other) noexcept(std::is_nothrow_move_constructible_v<S>) {
        this->put(std::move(other), other.state);
        state = other.state;
    }
    slot& operator=(slot&&) = delete;
    ~slot() { this->clear(state); }

    /// The result, or throws the failure.
    S take() { return slot_cell<S>::take(state); }

    slot_state state = slot_state::empty;
};

/// The waiter of a yield of one operation: it keeps the state of that operation's `slot_cell`
/// in the 4 bytes after `remaining`, so that the yield takes 24 bytes of its generator's frame.
struct lone_waiter : waiter {
    slot_state state = slot_state::empty;
};

/// A pending operation's destination: its storage (with where its state is kept) and the
/// yield that waits for it.
template <class S>
class target {
public:
    target() = default;
    /// An operation with a `slot` of its own: its state is in `s`.
    target(slot<S>& s, waiter& w) noexcept
        : cell_(reinterpret_cast<std::uintptr_t>(static_cast<slot_cell<S>*>(&s))), owner_(&w) {}
    /// The operation of a yield of one operation: its state is in `w`.
    target(slot_cell<S>& c, lone_waiter& w) noexcept : cell_(reinterpret_cast<std::uintptr_t>(&c) | lone), owner_(&w) {}

    [[nodiscard]] waiter& owner() const noexcept { return *owner_; }

    /// Stores the result of the operation; may throw what constructing it throws.
    template <class V>
    void put_value(V&& v) const {
        cell().put_value(std::forward<V>(v));
        if constexpr (slot_cell<S>::records_values) state() = slot_state::value;
    }
    /// Stores the failure of the operation.
    void put_error(std::exception_ptr e) const noexcept {
        cell().put_error(std::move(e));
        state() = slot_state::error;
    }

private:
    static constexpr std::uintptr_t lone = 1;
    static_assert(alignof(slot_cell<S>) > lone);

    [[nodiscard]] slot_cell<S>& cell() const noexcept { return *reinterpret_cast<slot_cell<S>*>(cell_ & ~lone); }
    [[nodiscard]] slot_state& state() const noexcept {
        return cell_ & lone ? static_cast<lone_waiter*>(owner_)->state : static_cast<slot<S>&>(cell()).state;
    }

    std::uintptr_t cell_; ///< The storage, tagged with `lone` when its state is in the owner.
    waiter* owner_;
};

class scheduler;

/// Who may start a run of an executor: refuses, with a `batch::usage_error` that names the fix,
/// a run on a second thread while one runs (the owner is taken with one compare-and-swap, so the
/// check itself is race-free), a nested run on the same thread, a run of a moved-from executor,
/// and a move while a run is in progress or announced (`announce`: an event loop that will start
/// it), when the run's generators and event loop point at the executor.
class run_owner {
public:
    run_owner() = default;
    run_owner(run_owner&& other) {
        if (other.owner_.load(std::memory_order_acquire) != nullptr
            || other.announced_.load(std::memory_order_acquire) != 0) {
            throw usage_error("batch: an executor was moved while a run of it was in progress or started with "
                              "async_run (the run points at it); move executors only between runs, for "
                              "example reserve() a vector of them before their first run");
        }
        other.moved_from_ = true;
    }
    run_owner& operator=(run_owner&&) = delete;

    /// The calling thread starts a run.
    void take() {
        if (moved_from_) {
            throw usage_error("batch: run was called on a moved-from executor; run on the executor it was "
                              "moved to");
        }
        void const* none = nullptr;
        if (!owner_.compare_exchange_strong(none, this_thread(), std::memory_order_acquire)) {
            if (none == this_thread()) {
                throw usage_error("batch: run was called on an executor from inside one of its own runs; "
                                  "co_yield the work instead, or run it on another executor");
            }
            throw usage_error("batch: an executor was used from two threads at once; an executor is used from "
                              "one thread at a time: give each thread its own executor");
        }
    }

    /// The run has ended.
    void give_back() noexcept { owner_.store(nullptr, std::memory_order_release); }

    /// A run will start later (an event loop holds the executor): the executor must not move.
    void announce() noexcept { announced_.fetch_add(1, std::memory_order_acq_rel); }
    /// An announced run has started, or will not.
    void withdraw() noexcept { announced_.fetch_sub(1, std::memory_order_acq_rel); }

private:
    std::atomic<void const*> owner_{nullptr}; ///< The thread running it (see `this_thread`).
    std::atomic<int> announced_{0};
    bool moved_from_ = false;
};

/// A shared generator as the scheduler sees it: what its body tells when it finishes, and what
/// the run that started it (and owns it meanwhile) tells when it ends.
class shared_base {
public:
    /// Its body has finished (called from the body's final suspend): keeps the outcome and
    /// wakes every yield that waits for it.
    virtual void body_finished() noexcept = 0;

    /// The run `run`, which started it, has ended, and no longer owns it (the last owner frees
    /// it). Unless it has finished, it keeps `e` as its outcome (a generic failure when null)
    /// and its frame (and the handles it holds) is destroyed; nothing happens to it if `run`
    /// does not drive it (its start was undone by a failed yield, and another run may have
    /// started it since).
    virtual void run_ended(std::exception_ptr const& e, scheduler const& run) noexcept = 0;

protected:
    ~shared_base() = default;
};

/// The part of an executor that does not depend on the operation types: the queue of runnable
/// generators, the run's counters, its failure state, and what a run owns besides its root
/// (the drivers of generator batchers and the shared generators it started). Typed and
/// runtime-typed bucket sets are both layered on top of it.
class scheduler {
public:
    scheduler() = default;
    scheduler(scheduler&&) = default; ///< Between runs only (else `batch::usage_error`): nothing points into it then.
    scheduler& operator=(scheduler&&) = delete;
    ~scheduler() {
        destroy_drivers();
        release_shared(nullptr); // none left after `end_run`
    }

    /// Makes `h` runnable in this round.
    BATCH_HOT void schedule(std::coroutine_handle<> h) { ready_.push_back(h); }

    /// The most starts `start_now` nests (a generator started at once starts its own items at
    /// once, and so on): deeper, items wait in the queue, so that the stack stays bounded.
    static constexpr std::uint32_t most_nested_starts = 16;

    /// True when a yield may run its generators at once (`start_now`): the run goes on and
    /// fewer than `most_nested_starts` starts are under way.
    [[nodiscard]] bool may_start_now() const noexcept { return nested_starts_ < most_nested_starts && !fatal_; }

    /// Runs `h`, a generator just started as an item of a yield, to its first suspension, where
    /// it would otherwise wait in the queue: its frame is written once, while it is in cache.
    BATCH_HOT void start_now(std::coroutine_handle<> h) noexcept {
        ++nested_starts_;
        h.resume();
        --nested_starts_;
    }

    /// Marks one item of `w` done, making its generator runnable when it was the last. Runs
    /// where nothing may throw (a final suspend, a delivery): if the queue cannot grow, the run
    /// stops with that failure.
    BATCH_HOT void complete(waiter& w) noexcept {
        if (--w.remaining == 0 && w.handle) {
            if (in_place_ && !fatal_) {
                in_place_ = false; // what it completes in turn waits in the queue: no recursion
                w.handle.resume();
                in_place_ = true;
                return;
            }
            queue(w.handle);
        }
    }

    /// Gives `value` to one operation; a result whose move throws fails that operation alone.
    template <class S>
    BATCH_STEP void deliver(target<S> const& t, S&& value) noexcept {
        store(t, std::move(value));
        complete(t.owner());
    }

    /// `deliver`, resuming the generator at once if that makes it runnable (what it completes
    /// in turn waits in the queue), whether or not `resume_in_place` is on. `t` is read before
    /// the generator resumes, never after: it may be where the generator's next operation goes.
    template <class S>
    BATCH_STEP void deliver_resuming(target<S> const& t, S&& value) noexcept {
        store(t, std::move(value));
        waiter& w = t.owner();
        if (--w.remaining == 0 && w.handle) {
            if (!fatal_) [[likely]] {
                w.handle.resume();
            } else {
                queue(w.handle);
            }
        }
    }

    /// Fails one operation with `e`.
    template <class S>
    void fail(target<S> const& t, std::exception_ptr const& e) noexcept {
        t.put_error(e);
        complete(t.owner());
    }

    /// While on, `complete` resumes a generator it makes runnable at once (one level deep),
    /// instead of queueing it.
    void resume_in_place(bool on) noexcept { in_place_ = on; }

    [[nodiscard]] std::size_t ready_size() const noexcept { return ready_.size(); }
    void truncate_ready(std::size_t n) noexcept { ready_.resize(n); }

    /// Resumes runnable generators, in the order they became runnable, until none is left.
    void drain() {
        if (ready_.empty()) return; // every round of a chain of single yields resumed in place
        // Indexing (not iterators): resuming appends to ready_.
        for (std::size_t i = 0; i < ready_.size() && !fatal_; ++i) ready_[i].resume();
        ready_.clear();
    }

    /// Records a failure of the machinery itself (not of a generator); the run then stops, and
    /// everything it started is destroyed.
    void abort(std::exception_ptr e) noexcept {
        if (!fatal_) fatal_ = std::move(e);
    }
    [[nodiscard]] std::exception_ptr const& fatal() const noexcept { return fatal_; }

    /// The counters of the current (or last) run.
    [[nodiscard]] run_stats const& stats() const noexcept { return counters_; }

    /// A generator started as the item of a yield or as a shared generator's body (drivers are
    /// not counted).
    void generator_started() noexcept {
        ++counters_.generators;
        ++live_generators_;
    }
    /// Undoes `generator_started` for a yield that failed before the generator ran.
    void generator_unstarted() noexcept {
        --counters_.generators;
        --live_generators_;
    }
    void generator_finished() noexcept { --live_generators_; }

    /// One batcher call of `size` operations.
    void batch_called(std::size_t size) noexcept {
        ++counters_.batches;
        counters_.operations += size;
        if (size > counters_.largest_batch) counters_.largest_batch = size;
    }
    /// One batcher call of `size` operations, counted in the run's and its type's counters.
    void batch_called(operation_stats& of_type, std::size_t size) noexcept {
        batch_called(size);
        ++of_type.batches;
        of_type.operations += size;
    }
    void deduplicated(operation_stats& of_type, std::size_t merged) noexcept {
        counters_.deduplicated += merged;
        of_type.deduplicated += merged;
    }
    void cache_hit(operation_stats& of_type) noexcept {
        ++counters_.cache_hits;
        ++of_type.cache_hits;
    }
    void cache_lost(operation_stats& of_type, std::size_t evictions, std::size_t expiries) noexcept {
        counters_.cache_evictions += evictions;
        of_type.cache_evictions += evictions;
        counters_.cache_expiries += expiries;
        of_type.cache_expiries += expiries;
    }

    /// Times, for an executor that measures them (one with an observer).
    void batch_took(operation_stats& of_type, std::chrono::steady_clock::duration d) noexcept {
        of_type.batch_time += d;
        if (d > of_type.longest_batch) of_type.longest_batch = d;
    }
    void round_took(std::chrono::steady_clock::duration d) { counters_.round_times.push_back(d); }
    void run_took(std::chrono::steady_clock::duration d) noexcept { counters_.wall_time = d; }

    /// Owns the driver of a generator batcher (a coroutine started in this round) until it has
    /// finished, or until the run ends.
    void adopt_driver(std::coroutine_handle<> driver) {
        try {
            drivers_.push_back(driver);
            try {
                ready_.push_back(driver);
            } catch (...) {
                drivers_.pop_back();
                throw;
            }
        } catch (...) {
            driver.destroy();
            throw;
        }
    }

    /// Remembers a shared generator this run started, to end it if the run fails; the run owns
    /// it from now until it ends or `untrack`s it (the caller counts that ownership once this
    /// has returned). Gives its place, for `untrack`.
    std::size_t track(shared_base& s) {
        shared_started_.push_back(&s);
        return shared_started_.size() - 1;
    }

    /// Forgets the shared generator at place `i`, whose body has finished: the run has nothing
    /// left to end, and the caller gives up the run's ownership itself (so that the run's end
    /// does not walk every finished one again).
    void untrack(std::size_t i) noexcept { shared_started_[i] = nullptr; }

    /// Starts a run: refuses a nested run, a run on a second thread or of a moved-from executor
    /// (see `run_owner`), then forgets the last run.
    void begin_run() {
        owner_.take();
        frame_pool::local().begin_run();
        ready_.clear();
        fatal_ = nullptr;
        counters_ = {};
        live_generators_ = 0;
        nested_starts_ = 0;
    }

    /// Starts a round: frees the drivers that have finished; throws `cycle_error` when nothing
    /// is pending (`idle`) although the root is not done. Inlined: both are rare.
    BATCH_HOT void begin_round(bool idle) {
        if (!drivers_.empty()) [[unlikely]]
            free_finished_drivers();
        if (idle) [[unlikely]]
            throw_cycle();
        ++counters_.rounds;
    }

    /// Ends every shared generator this run started and did not finish, with `e` (or a generic
    /// failure when null); then lets go of them all.
    void release_shared(std::exception_ptr const& e) noexcept {
        auto started = std::move(shared_started_);
        shared_started_.clear();
        for (shared_base* s : started) {
            if (s) s->run_ended(e, *this);
        }
        started.clear();
        shared_started_.swap(started); // keeps the capacity for the next run
    }

    /// Ends a run, whichever way: releases what it started and allows the next run.
    void end_run() noexcept {
        ready_.clear();
        release_shared(nullptr);
        destroy_drivers();
        in_place_ = false;
        frame_pool::local().end_run();
        owner_.give_back();
    }

    /// A run will be started later by an event loop (`batch::asio::async_run`): until it starts
    /// (or is given up: `withdraw_run`), the executor must not move.
    void announce_run() noexcept { owner_.announce(); }
    void withdraw_run() noexcept { owner_.withdraw(); }

private:
    // Puts the result of one operation in its slot; a result whose move throws fails it alone.
    template <class S>
    BATCH_STEP static void store(target<S> const& t, S&& value) noexcept {
        try {
            t.put_value(std::move(value));
        } catch (...) {
            t.put_error(std::current_exception());
        }
    }

    // Makes `h` runnable where nothing may throw: if the queue cannot grow, the run stops.
    BATCH_STEP void queue(std::coroutine_handle<> h) noexcept {
        try {
            ready_.push_back(h);
        } catch (...) {
            abort(std::current_exception());
        }
    }

    [[gnu::noinline]] void free_finished_drivers() noexcept {
        std::erase_if(drivers_, [](std::coroutine_handle<> d) {
            if (!d.done()) return false;
            d.destroy();
            return true;
        });
    }

    [[noreturn, gnu::noinline, gnu::cold]] void throw_cycle() const {
        throw cycle_error("batch: the run cannot finish: " + std::to_string(live_generators_)
                          + " generators wait on each other through a shared generator that waits "
                            "(directly or through others) on itself");
    }

    void destroy_drivers() noexcept {
        for (auto d : drivers_) d.destroy();
        drivers_.clear();
    }

    run_owner owner_; ///< First: a move that must be refused is refused before anything moves.
    pod_vector<std::coroutine_handle<>> ready_;
    std::exception_ptr fatal_;
    run_stats counters_;
    std::size_t live_generators_ = 0; ///< Started and not finished, in this run.
    std::vector<std::coroutine_handle<>> drivers_;
    std::vector<shared_base*> shared_started_; ///< Each owned (retained) by the run.
    bool in_place_ = false;
    std::uint32_t nested_starts_ = 0; ///< `start_now` calls under way.
};

} // namespace batch::detail
