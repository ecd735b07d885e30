#pragma once

#include <batch/active_run.hpp>
#include <batch/detail/executor/generator_batcher.hpp>
#include <batch/detail/run/batch_call.hpp>
#include <batch/detail/run/context.hpp>
#include <batch/detail/run/run_host.hpp>
#include <batch/detail/run/scheduler.hpp>
#include <batch/detail/run/yield.hpp>
#include <batch/dynamic/operation.hpp>
#include <batch/error.hpp>
#include <batch/gen.hpp>
#include <batch/io/poll.hpp>
#include <batch/stats.hpp>

#include <any>
#include <concepts>
#include <cstddef>
#include <exception>
#include <span>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

namespace batch::detail {

/// The runtime-typed bucket set: one bucket per distinct batcher seen in the round, found
/// through a hash map keyed by the batchers' own `hash` and `equals`.
template <>
class context<dynamic::ops> : public scheduler {
public:
    using call_type = batch_call<dynamic::operation const*, std::any>;

    struct bucket {
        dynamic::batcher* server = nullptr;
        call_type call;
    };

    void enqueue(dynamic::operation const& op, target<std::any> t) {
        dynamic::batcher& server = op.get_batcher();
        auto const [it, fresh] = index_.try_emplace(&server, in_use_);
        if (fresh) {
            try {
                if (in_use_ == buckets_.size()) buckets_.emplace_back();
            } catch (...) {
                index_.erase(it);
                throw;
            }
            buckets_[in_use_++].server = &server;
        }
        bucket& b = buckets_[it->second];
        b.call.push(&op, t);
        try {
            journal_.push_back(it->second);
        } catch (...) {
            b.call.truncate(b.call.size() - 1);
            throw;
        }
    }

    [[nodiscard]] bool idle() const noexcept { return journal_.empty(); }

    struct fill_mark {
        std::size_t ready;
        std::size_t journal;
    };

    [[nodiscard]] fill_mark mark() const noexcept { return {ready_size(), journal_.size()}; }

    void rollback(fill_mark const& m) noexcept {
        truncate_ready(m.ready);
        while (journal_.size() > m.journal) {
            auto& call = buckets_[journal_.back()].call;
            journal_.pop_back();
            call.truncate(call.size() - 1);
        }
    }

    /// The buckets filled in this round, in the order their batchers first appeared.
    std::span<bucket> round_buckets() noexcept { return {buckets_.data(), in_use_}; }

    /// Forgets the round's batchers; the buckets keep their capacity.
    void end_round() noexcept {
        for (std::size_t i = 0; i < in_use_; ++i) {
            buckets_[i].call.clear();
            buckets_[i].server = nullptr;
        }
        in_use_ = 0;
        index_.clear();
        journal_.clear();
    }

    void clear_buckets() noexcept { end_round(); }

private:
    struct batcher_hash {
        std::size_t operator()(dynamic::batcher const* b) const noexcept { return b->hash(); }
    };
    struct batcher_equal {
        bool operator()(dynamic::batcher const* a, dynamic::batcher const* b) const noexcept {
            return a == b || a->equals(*b);
        }
    };

    std::vector<bucket> buckets_;
    std::size_t in_use_ = 0;
    std::unordered_map<dynamic::batcher const*, std::size_t, batcher_hash, batcher_equal> index_;
    std::vector<std::size_t> journal_; ///< The bucket of each enrolled operation, for rollback.
};

// A runtime-typed operation: its bucket is found at run time; its result comes back as std::any.
template <class Op>
requires std::derived_from<Op, dynamic::operation> && requires { typename Op::result_type; }
struct yield_traits<Op, dynamic::ops> {
    static constexpr bool valid = true;
    using result = typename Op::result_type;
    using slots = slot<std::any>;

    template <bool Owned>
    static void enroll(Op const& op, slots& s, waiter& w, context<dynamic::ops>& ctx) {
        ctx.enqueue(op, target<std::any>(s, w));
        ++w.remaining;
    }

    static void disown(Op const&, waiter const&) noexcept {}

    template <bool Owned>
    static result take(Op const&, slots& s) {
        std::any value = s.take();
        if constexpr (!std::is_void_v<result>) {
            if (auto* r = std::any_cast<result>(&value)) return std::move(*r);
            throw batcher_error(std::string("batch::dynamic: a batcher answered an operation of type '")
                                + typeid(Op).name() + "' with a result of type '" + value.type().name() + "'");
        }
    }
};

} // namespace batch::detail

namespace batch::detail {

/// The dynamic executor's side of a run (`detail::run_host`): its context, and each round's
/// calls of the distinct batchers found in it. Never asynchronous, never observed: the
/// baseline keeps the original design's plain and generator batchers.
class dynamic_host {
    using context_type = context<dynamic::ops>;
    using call_type = context_type::call_type;

public:
    static constexpr bool asynchronous = false;
    static constexpr bool observed = false;

    [[nodiscard]] context_type& run_context() noexcept { return context_; }
    [[nodiscard]] context_type const& run_context() const noexcept { return context_; }

    void dispatch_round() {
        for (auto& b : context_.round_buckets()) {
            if (!b.call.empty()) call(*b.server, b.call);
        }
        context_.end_round();
    }

private:
    void call(dynamic::batcher& server, call_type& c) {
        context_.batch_called(c.size());
        if (server.yields()) {
            auto start = [&server](call_type const& in) { return server.batch_gen(in.input()); };
            auto deliver_to = [this, &server](call_type& in, std::vector<std::any>&& results) {
                deliver(server, in, std::move(results));
            };
            auto fail = [this](call_type& in, std::exception_ptr const& e) { in.results_to().fail_all(context_, e); };
            start_driver(context_,
                         drive_generator_batcher<dynamic::ops>(std::exchange(c, {}), start, deliver_to, fail));
            return;
        }
        try {
            deliver(server, c, server.batch(c.input()));
        } catch (...) {
            c.results_to().fail_all(context_, std::current_exception());
        }
    }

    // Checks the count first, so that nothing is delivered twice.
    void deliver(dynamic::batcher const& server, call_type const& c, std::vector<std::any>&& results) {
        check_result_count(results.size(), c.size(), "batch::dynamic: the batcher", typeid(server).name());
        auto const to = c.results_to();
        for (std::size_t i = 0; i < c.size(); ++i) {
            if (auto const* e = std::any_cast<std::exception_ptr>(&results[i])) {
                to.fail(context_, i, *e);
            } else {
                to.answer(context_, i, std::move(results[i]));
            }
        }
    }

    context_type context_;
};

} // namespace batch::detail

namespace batch::dynamic {

/// Runs runtime-typed generators in rounds, like `batch::executor`, calling each distinct
/// batcher once per round with all of its pending operations.
class executor {
public:
    using operation_set = ops; ///< The operations it serves: any runtime-typed operation.

    /// Its batchers are never asynchronous: the baseline keeps the original design's plain and
    /// generator batchers.
    static constexpr bool asynchronous = batch::detail::dynamic_host::asynchronous;

    /// It takes no observer.
    static constexpr bool observed = batch::detail::dynamic_host::observed;

    executor() = default;
    /// An executor may be moved between runs; a move during one (its generators point at it),
    /// or while `batch::asio::async_run` holds it, throws `batch::usage_error`, and so does a
    /// run of a moved-from executor.
    executor(executor&&) = default;
    executor& operator=(executor&&) = delete;

    /// Runs `x` (anything a `batch::dynamic::gen` may yield) to completion and returns its
    /// result, or rethrows the exception that escaped it. Calling it from inside one of this
    /// executor's own runs throws `batch::usage_error`.
    template <class Yielded>
    auto run(Yielded&& x) {
        return io::run_blocking(*this, std::forward<Yielded>(x));
    }

    /// Counters of the last run.
    [[nodiscard]] run_stats const& stats() const noexcept { return host_.run_context().stats(); }

    /// The baseline keeps no cache (its operations declare no `cacheable`): these say so at
    /// compile time.
    template <class Op, class... Args>
    bool prime(Op const&, Args&&...) {
        return no_cache<Op>();
    }
    template <class Op, class... Args>
    bool prime_error(Op const&, Args&&...) {
        return no_cache<Op>();
    }
    template <class Op>
    bool forget(Op const&) {
        return no_cache<Op>();
    }

private:
    template <class Op>
    static bool no_cache() {
        static_assert(batch::detail::wrong<Op>, "batch: the dynamic executor keeps no cache; prime, prime_error and "
                                                "forget need a batch::make_executor executor and a cached operation "
                                                "type");
        return false;
    }

    friend batch::detail::host_access;

    batch::detail::dynamic_host host_;
};

} // namespace batch::dynamic
