#pragma once

#include <batch/stats.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace batch::detail {

/// One suspended yield: how many of its items are still pending, and whom to resume.
struct waiter {
    std::size_t remaining = 0;
    std::coroutine_handle<> handle{}; ///< Null for the root of a run.
};

/// Where the result of one yielded operation goes.
template <class S>
struct slot {
    std::optional<S> value;
    std::exception_ptr error;

    S take() {
        if (error) std::rethrow_exception(error);
        return std::move(*value);
    }
};

/// A pending operation's destination: its slot and the yield that waits for it.
template <class S>
struct target {
    slot<S>* result;
    waiter* owner;
};

/// A shared generator as the scheduler sees it: something a failed run must stop and release.
class shared_base {
public:
    /// Ends a shared generator that its run can no longer drive: it keeps `e` as its outcome,
    /// and its frames (and the handles they hold) are destroyed.
    virtual void abandon(std::exception_ptr e) noexcept = 0;
    [[nodiscard]] virtual bool finished() const noexcept = 0;

protected:
    ~shared_base() = default;
};

/// The part of an executor that does not depend on the operation types: the queue of
/// runnable generators, the run's counters and its failure state. Typed and runtime-typed
/// bucket sets are both layered on top of it.
class scheduler {
public:
    /// Makes `h` runnable in this round.
    void schedule(std::coroutine_handle<> h) { ready_.push_back(h); }

    /// Marks one item of `w` done, making its generator runnable when it was the last. Runs
    /// where nothing may throw (a final suspend, a delivery): if the queue cannot grow, the run
    /// stops with that failure.
    void complete(waiter& w) noexcept {
        if (--w.remaining == 0 && w.handle) {
            try {
                ready_.push_back(w.handle);
            } catch (...) {
                abort(std::current_exception());
            }
        }
    }

    /// Gives `value` to one operation; a result whose move throws fails that operation alone.
    template <class S>
    void deliver(target<S> const& t, S&& value) noexcept {
        try {
            t.result->value.emplace(std::move(value));
        } catch (...) {
            t.result->error = std::current_exception();
        }
        complete(*t.owner);
    }

    /// Fails one operation with `e`.
    template <class S>
    void fail(target<S> const& t, std::exception_ptr const& e) noexcept {
        t.result->error = e;
        complete(*t.owner);
    }

    [[nodiscard]] std::size_t ready_size() const noexcept { return ready_.size(); }
    void truncate_ready(std::size_t n) noexcept { ready_.resize(n); }

    /// Resumes runnable generators, in the order they became runnable, until none is left.
    void drain() {
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

    run_stats counters;
    std::size_t live_generators = 0; ///< Started and not finished, in this run.

    /// Remembers a shared generator this run started, to release it if the run fails.
    void track(std::shared_ptr<shared_base> s) { shared_started_.push_back(std::move(s)); }

protected:
    void reset_run() {
        ready_.clear();
        fatal_ = nullptr;
        counters = {};
        live_generators = 0;
    }

    /// Ends every shared generator this run started and did not finish, with `e`; then forgets them.
    void release_shared(std::exception_ptr const& e) noexcept {
        auto started = std::move(shared_started_);
        shared_started_.clear();
        for (auto& s : started) {
            if (!s->finished()) s->abandon(e);
        }
    }

private:
    std::vector<std::coroutine_handle<>> ready_;
    std::exception_ptr fatal_;
    std::vector<std::shared_ptr<shared_base>> shared_started_;
};

} // namespace batch::detail
