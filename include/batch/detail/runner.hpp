#pragma once

#include <batch/detail/context.hpp>
#include <batch/detail/diagnostics.hpp>
#include <batch/detail/fwd.hpp>
#include <batch/detail/yield.hpp>
#include <batch/error.hpp>
#include <batch/gen.hpp>

#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch::detail {

/// The run loop that the typed and the dynamic executor share: rounds of resuming every
/// runnable generator, then dispatching every pending operation. `Derived` supplies
/// `dispatch_round()`; `context<Ops>` supplies the buckets.
template <class Ops, class Derived>
class runner : public context<Ops> {
public:
    runner() = default;
    runner(runner const&) = delete;
    runner& operator=(runner const&) = delete;

    /// Runs `x` (anything `co_yield` accepts) to completion and returns its result, or rethrows
    /// the exception that escaped it.
    template <class Yielded>
    auto run(Yielded&& x) {
        using item = std::remove_reference_t<Yielded>;
        if constexpr (!yieldable<std::remove_const_t<item>, Ops>) {
            reject_yield<std::remove_const_t<item>, Ops>();
            return rejected_yield<typename presumed_result<std::remove_const_t<item>>::type>::await_resume();
        } else {
            if (running_) {
                throw usage_error("batch: run was called on an executor from inside one of its own runs; "
                                  "co_yield the work instead, or run it on another executor");
            }
            running_ = true;
            this->reset_run();
            this->reset_bucket_stats();
            run_guard guard{*this};
            yield_awaiter<item, Ops, !std::is_lvalue_reference_v<Yielded>> root(this, std::forward<Yielded>(x));
            try {
                if (root.await_suspend(nullptr)) drive(root);
            } catch (...) {
                // Pending work refers to frames about to go: drop it before releasing them.
                this->clear_buckets();
                this->release_shared(std::current_exception());
                throw;
            }
            return root.await_resume();
        }
    }

protected:
    /// Starts a generator batcher's driver in this round; it is destroyed once it has finished.
    void start_driver(gen<void, Ops> driver) {
        auto const h = gen_access::handle(driver);
        drivers_.push_back(std::move(driver));
        h.promise().ctx = this;
        h.promise().started = true;
        this->schedule(h);
    }

private:
    // Whatever way run ends, nothing of it is left behind: queued handles, pending operations
    // and batcher drivers go before the root (and with it every generator it owns) goes.
    struct run_guard {
        runner& r;
        ~run_guard() {
            r.clear_buckets();
            r.release_shared(nullptr);
            r.drivers_.clear();
            r.running_ = false;
        }
    };

    template <class Root>
    void drive(Root& root) {
        for (;;) {
            this->drain();
            if (this->fatal()) std::rethrow_exception(this->fatal());
            if (root.done()) return;
            std::erase_if(drivers_, [](auto const& d) { return gen_access::handle(d).done(); });
            if (this->idle()) {
                throw cycle_error("batch: the run cannot finish: " + std::to_string(this->live_generators)
                                  + " generators wait on each other through a shared generator that waits "
                                    "(directly or through others) on itself");
            }
            ++this->counters.rounds;
            static_cast<Derived&>(*this).dispatch_round();
        }
    }

    std::vector<gen<void, Ops>> drivers_;
    bool running_ = false;
};

} // namespace batch::detail
