#pragma once

#include <batch/detail/context.hpp>
#include <batch/detail/runner.hpp>
#include <batch/detail/scheduler.hpp>
#include <batch/detail/yield.hpp>
#include <batch/dynamic/operation.hpp>
#include <batch/error.hpp>
#include <batch/gen.hpp>
#include <batch/operation.hpp>
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
    struct bucket {
        dynamic::batcher* server = nullptr;
        std::vector<dynamic::operation const*> ops;
        std::vector<target<std::any>> targets;
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
        b.ops.push_back(&op);
        try {
            b.targets.push_back(t);
            journal_.push_back(it->second);
        } catch (...) {
            b.ops.pop_back();
            if (b.targets.size() > b.ops.size()) b.targets.pop_back();
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
            bucket& b = buckets_[journal_.back()];
            journal_.pop_back();
            b.ops.pop_back();
            b.targets.pop_back();
        }
    }

protected:
    /// The buckets filled in this round, in the order their batchers first appeared.
    std::span<bucket> round_buckets() noexcept { return {buckets_.data(), in_use_}; }

    /// Forgets the round's batchers; the buckets keep their capacity.
    void end_round() noexcept {
        for (std::size_t i = 0; i < in_use_; ++i) {
            buckets_[i].ops.clear();
            buckets_[i].targets.clear();
            buckets_[i].server = nullptr;
        }
        in_use_ = 0;
        index_.clear();
        journal_.clear();
    }

    void clear_buckets() noexcept { end_round(); }
    void reset_bucket_stats() noexcept {}

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
        ctx.enqueue(op, {&s, &w});
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

namespace batch::dynamic {

/// Runs runtime-typed generators in rounds, like `batch::executor`, calling each distinct
/// batcher once per round with all of its pending operations.
class executor : private detail::runner<ops, executor> {
    using base = detail::runner<ops, executor>;
    friend base;

public:
    executor() = default;

    using base::run;

    /// Counters of the last run.
    [[nodiscard]] run_stats const& stats() const noexcept { return this->counters; }

private:
    using bucket = detail::context<ops>::bucket;
    using targets_t = std::vector<detail::target<std::any>>;

    void dispatch_round() {
        for (bucket& b : this->round_buckets()) {
            if (!b.ops.empty()) dispatch(b);
        }
        this->end_round();
    }

    void dispatch(bucket& b) {
        ++this->counters.batches;
        this->counters.operations += b.ops.size();
        if (b.ops.size() > this->counters.largest_batch) this->counters.largest_batch = b.ops.size();
        if (b.server->yields()) {
            this->start_driver(
                run_generator_batcher(*b.server, std::exchange(b.ops, {}), std::exchange(b.targets, {}), *this));
            return;
        }
        try {
            deliver_all(*this, *b.server, b.server->batch(b.ops), b.targets);
        } catch (...) {
            auto const e = std::current_exception();
            for (auto const& t : b.targets) this->fail(t, e);
        }
    }

    // Checks the count first, so that nothing is delivered twice.
    static void deliver_all(detail::scheduler& s, batcher const& server, std::vector<std::any>&& results,
                            targets_t const& targets) {
        if (results.size() != targets.size()) {
            throw batcher_error(std::string("batch::dynamic: the batcher '") + typeid(server).name() + "' returned "
                                + std::to_string(results.size()) + " results for " + std::to_string(targets.size())
                                + " operations; it must return one result per operation, in order");
        }
        for (std::size_t i = 0; i < targets.size(); ++i) {
            if (auto const* e = std::any_cast<std::exception_ptr>(&results[i])) {
                s.fail(targets[i], *e);
            } else {
                s.deliver(targets[i], std::move(results[i]));
            }
        }
    }

    // Owns a generator batcher's operations while its generator runs.
    static batch::gen<void, ops> run_generator_batcher(batcher& server, std::vector<operation const*> in,
                                                       targets_t targets, detail::scheduler& s) {
        std::exception_ptr failure;
        try {
            std::vector<std::any> results = co_yield server.batch_gen(in);
            deliver_all(s, server, std::move(results), targets);
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            for (auto const& t : targets) s.fail(t, failure);
        }
    }
};

} // namespace batch::dynamic
