#pragma once

#include <batch/batcher.hpp>
#include <batch/detail/context.hpp>
#include <batch/detail/diagnostics.hpp>
#include <batch/detail/runner.hpp>
#include <batch/detail/type_name.hpp>
#include <batch/detail/yield.hpp>
#include <batch/error.hpp>
#include <batch/gen.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>
#include <batch/stats.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace batch {

template <class Ops, class... Batchers>
class executor;

/// Runs generators over `Ops` in rounds, calling one batcher per operation type (and
/// `batch_key`) per round with every pending operation of that type.
template <class... Ops, class... Batchers>
class executor<operations<Ops...>, Batchers...>
    : private detail::runner<operations<Ops...>, executor<operations<Ops...>, Batchers...>> {
    using ops_t = operations<Ops...>;
    using base = detail::runner<ops_t, executor>;
    using set = detail::batcher_set<ops_t, Batchers...>;
    static_assert(set::check());
    friend base;

public:
    /// Takes ownership of the batchers (prefer `batch::make_executor`).
    template <class... Bs>
    explicit executor(std::in_place_t, Bs&&... batchers) : batchers_(std::forward<Bs>(batchers)...) {}

    using base::run;

    /// Counters of the last run.
    [[nodiscard]] run_stats const& stats() const noexcept { return this->counters; }

    /// Counters of the last run for one operation type.
    template <class Op>
    [[nodiscard]] operation_stats stats_of() const noexcept {
        static_assert(ops_t::template contains<Op>, "batch: stats_of<Op> names an operation type that is not "
                                                    "in this executor's batch::operations<...> list");
        return std::get<ops_t::template index_of<Op>>(this->buckets_).stats;
    }

    /// Forgets every result remembered for cacheable operation types.
    void clear_cache() noexcept { this->clear_caches(); }

    /// The batcher serving `Op`.
    template <class Op>
    [[nodiscard]] auto& batcher_of() noexcept {
        return std::get<set::template index<Op>>(batchers_);
    }

private:
    // Called by the runner once per round: every pending bucket, in the order of Ops.
    void dispatch_round() {
        if constexpr (set::ok) (dispatch<Ops>(), ...);
    }

    template <class Op>
    using target_t = typename detail::bucket<Op>::stored_target;

    // Where the results of one batcher call go: result i to targets[i], or, when identical
    // operations were merged, to targets[offsets[i]] up to targets[offsets[i + 1]].
    template <class Op>
    struct destinations {
        std::span<target_t<Op> const> targets;
        std::span<std::size_t const> offsets;

        [[nodiscard]] std::size_t size() const noexcept {
            return offsets.empty() ? targets.size() : offsets.size() - 1;
        }
    };

    template <class Op>
    void dispatch() {
        auto& b = this->template bucket_for<Op>();
        if (b.empty()) return;
        b.ops.swap(b.flight_ops);
        b.targets.swap(b.flight_targets);
        if constexpr (keyed_operation<Op>) {
            dispatch_keyed<Op>(b);
        } else {
            dispatch_group<Op>(b, b.flight_ops, b.flight_targets);
        }
        b.flight_ops.clear();
        b.flight_targets.clear();
    }

    // One call per distinct batch_key, in the order each key first appeared.
    template <class Op>
    void dispatch_keyed(detail::bucket<Op>& b) {
        using key_t = std::decay_t<decltype(std::declval<Op const&>().batch_key())>;
        constexpr bool hashable = requires(key_t const& k) {
            { std::hash<key_t>{}(k) } -> std::convertible_to<std::size_t>;
        };
        auto& ops = b.flight_ops;
        std::vector<key_t> keys;
        std::vector<std::size_t> group(ops.size());
        [[maybe_unused]] std::conditional_t<hashable, std::unordered_map<key_t, std::size_t>, std::monostate> index;
        for (std::size_t i = 0; i < ops.size(); ++i) {
            key_t key = ops[i].batch_key();
            std::size_t g = keys.size();
            if constexpr (hashable) {
                g = index.try_emplace(key, keys.size()).first->second;
            } else {
                for (std::size_t k = 0; k < keys.size(); ++k) {
                    if (keys[k] == key) {
                        g = k;
                        break;
                    }
                }
            }
            if (g == keys.size()) keys.push_back(std::move(key));
            group[i] = g;
        }
        if (keys.size() == 1) {
            dispatch_group<Op>(b, ops, b.flight_targets);
            return;
        }
        for (std::size_t g = 0; g < keys.size(); ++g) {
            std::vector<Op> group_ops;
            std::vector<target_t<Op>> group_targets;
            for (std::size_t i = 0; i < ops.size(); ++i) {
                if (group[i] != g) continue;
                group_ops.push_back(std::move(ops[i]));
                group_targets.push_back(b.flight_targets[i]);
            }
            dispatch_group<Op>(b, group_ops, group_targets);
        }
    }

    // Merges identical operations when the type asks for it, then calls the batcher.
    template <class Op>
    void dispatch_group(detail::bucket<Op>& b, std::vector<Op>& ops, std::vector<target_t<Op>>& targets) {
        if constexpr (deduplicates_v<Op>) {
            static_assert(deduplicable<Op>, "batch: an operation type with deduplicate or cacheable needs "
                                            "operator==, a std::hash specialisation and a copyable result_type");
            auto& space = b.merging;
            std::size_t const n = ops.size();
            std::size_t const capacity = std::bit_ceil(std::max<std::size_t>(16, 2 * n));
            space.table.assign(capacity, 0);
            space.which.resize(n);
            space.first.clear();
            auto& which = space.which;
            auto& first = space.first;
            for (std::size_t i = 0; i < n; ++i) {
                for (std::size_t h = std::hash<Op>{}(ops[i]) & (capacity - 1);; h = (h + 1) & (capacity - 1)) {
                    std::size_t const slot = space.table[h];
                    if (slot == 0) {
                        first.push_back(i);
                        space.table[h] = first.size();
                        which[i] = first.size() - 1;
                        break;
                    }
                    if (ops[first[slot - 1]] == ops[i]) {
                        which[i] = slot - 1;
                        break;
                    }
                }
            }
            std::size_t const merged = ops.size() - first.size();
            if (merged == 0) {
                std::vector<std::size_t> none;
                call_in_chunks<Op>(b, ops, targets, none);
                return;
            }
            this->counters.deduplicated += merged;
            b.stats.deduplicated += merged;
            // Targets ordered by distinct operation: offsets[u] is where operation u's begin.
            std::vector<std::size_t> offsets(first.size() + 1, 0);
            for (std::size_t u : which) ++offsets[u + 1];
            for (std::size_t u = 0; u < first.size(); ++u) offsets[u + 1] += offsets[u];
            std::vector<target_t<Op>> ordered(targets.size());
            auto& fill = space.fill;
            fill.assign(offsets.begin(), offsets.end() - 1);
            for (std::size_t i = 0; i < ops.size(); ++i) ordered[fill[which[i]]++] = targets[i];
            std::vector<Op> distinct;
            distinct.reserve(first.size());
            for (std::size_t i : first) distinct.push_back(std::move(ops[i]));
            call_in_chunks<Op>(b, distinct, ordered, offsets);
        } else {
            std::vector<std::size_t> none;
            call_in_chunks<Op>(b, ops, targets, none);
        }
    }

    // Splits a batch larger than the batcher's max_batch_size into several calls of this round.
    template <class Op>
    void call_in_chunks(detail::bucket<Op>& b, std::vector<Op>& ops, std::vector<target_t<Op>>& targets,
                        std::vector<std::size_t>& offsets) {
        using batcher_t = typename set::template batcher_t<Op>;
        if constexpr (requires { batcher_t::max_batch_size; }) {
            constexpr std::size_t limit = batcher_t::max_batch_size;
            static_assert(limit > 0, "batch: a batcher's max_batch_size must be at least 1");
            if (ops.size() > limit) {
                for (std::size_t lo = 0; lo < ops.size(); lo += limit) {
                    std::size_t const hi = std::min(ops.size(), lo + limit);
                    std::vector<Op> chunk(std::make_move_iterator(ops.begin() + static_cast<std::ptrdiff_t>(lo)),
                                          std::make_move_iterator(ops.begin() + static_cast<std::ptrdiff_t>(hi)));
                    std::vector<target_t<Op>> chunk_targets;
                    std::vector<std::size_t> chunk_offsets;
                    if (offsets.empty()) {
                        chunk_targets.assign(targets.begin() + static_cast<std::ptrdiff_t>(lo),
                                             targets.begin() + static_cast<std::ptrdiff_t>(hi));
                    } else {
                        chunk_targets.assign(targets.begin() + static_cast<std::ptrdiff_t>(offsets[lo]),
                                             targets.begin() + static_cast<std::ptrdiff_t>(offsets[hi]));
                        for (std::size_t u = lo; u <= hi; ++u) chunk_offsets.push_back(offsets[u] - offsets[lo]);
                    }
                    call<Op>(b, chunk, chunk_targets, chunk_offsets);
                }
                return;
            }
        }
        call<Op>(b, ops, targets, offsets);
    }

    template <class Op>
    void call(detail::bucket<Op>& b, std::vector<Op>& ops, std::vector<target_t<Op>>& targets,
              std::vector<std::size_t>& offsets) {
        constexpr auto kind = set::template kind<Op>;
        auto& batcher = batcher_of<Op>();
        ++this->counters.batches;
        this->counters.operations += ops.size();
        if (ops.size() > this->counters.largest_batch) this->counters.largest_batch = ops.size();
        ++b.stats.batches;
        b.stats.operations += ops.size();

        if constexpr (kind == detail::batcher_kind::generator) {
            this->start_driver(
                run_generator_batcher<Op>(batcher, b, std::move(ops), std::move(targets), std::move(offsets), *this));
        } else {
            destinations<Op> const to{targets, offsets};
            std::span<Op const> const input(ops);
            try {
                if constexpr (kind == detail::batcher_kind::nothing) {
                    std::invoke(batcher, input);
                    for (std::size_t i = 0; i < ops.size(); ++i) deliver_one<Op>(*this, to, i, unit{});
                } else {
                    deliver_all<Op>(*this, b, input, std::invoke(batcher, input), to);
                }
            } catch (...) {
                auto const e = std::current_exception();
                for (auto const& t : targets) this->fail(t, e);
            }
        }
    }

    // Gives one result to every operation it answers: copies for all but the last.
    template <class Op>
    static void deliver_one(detail::scheduler& s, destinations<Op> const& to, std::size_t i,
                            stored_t<result_of_t<Op>>&& value) {
        if (to.offsets.empty()) {
            s.deliver(to.targets[i], std::move(value));
            return;
        }
        std::size_t const lo = to.offsets[i];
        std::size_t const hi = to.offsets[i + 1];
        for (std::size_t k = lo; k + 1 < hi; ++k) {
            if constexpr (std::copy_constructible<stored_t<result_of_t<Op>>>) {
                s.deliver(to.targets[k], stored_t<result_of_t<Op>>(value));
            }
        }
        if (hi > lo) s.deliver(to.targets[hi - 1], std::move(value));
    }

    template <class Op>
    static void fail_one(detail::scheduler& s, destinations<Op> const& to, std::size_t i, std::exception_ptr const& e) {
        if (to.offsets.empty()) {
            s.fail(to.targets[i], e);
            return;
        }
        for (std::size_t k = to.offsets[i]; k < to.offsets[i + 1]; ++k) s.fail(to.targets[k], e);
    }

    // Checks the count first, so that nothing is delivered twice; remembers cacheable results.
    template <class Op, class Results>
    static void deliver_all(detail::scheduler& s, detail::bucket<Op>& b, std::span<Op const> ops, Results&& results,
                            destinations<Op> const& to) {
        using stored = stored_t<result_of_t<Op>>;
        auto const count = static_cast<std::size_t>(std::ranges::size(results));
        if (count != to.size()) {
            throw batcher_error("batch: the batcher for '" + std::string(detail::type_name<Op>()) + "' returned "
                                + std::to_string(count) + " results for " + std::to_string(to.size())
                                + " operations; it must return one result per operation, in order");
        }
        auto it = std::ranges::begin(results);
        for (std::size_t i = 0; i < count; ++i, ++it) {
            auto answer = [&](auto&& value) {
                if constexpr (caches_v<Op>) {
                    try {
                        b.cache.insert_or_assign(ops[i], value);
                    } catch (...) { // a result that cannot be remembered is still delivered
                    }
                }
                deliver_one<Op>(s, to, i, stored(std::forward<decltype(value)>(value)));
            };
            if constexpr (std::same_as<std::ranges::range_value_t<Results>, outcome<result_of_t<Op>>>) {
                if (auto e = it->error()) {
                    fail_one<Op>(s, to, i, e);
                } else {
                    answer(std::move(*it).value());
                }
            } else {
                answer(std::move(*it));
            }
        }
    }

    // The coroutine that owns a generator batcher's operations while its generator runs.
    template <class Op, class Batcher>
    static gen<void, ops_t> run_generator_batcher(Batcher& batcher, detail::bucket<Op>& b, std::vector<Op> ops,
                                                  std::vector<target_t<Op>> targets, std::vector<std::size_t> offsets,
                                                  detail::scheduler& s) {
        using batch_gen = std::invoke_result_t<Batcher&, std::span<Op const>>;
        using results_t = typename batch_gen::value_type;
        destinations<Op> const to{targets, offsets};
        std::exception_ptr failure;
        try {
            if constexpr (std::is_void_v<results_t>) {
                co_yield std::invoke(batcher, std::span<Op const>(ops));
                for (std::size_t i = 0; i < ops.size(); ++i) deliver_one<Op>(s, to, i, unit{});
            } else {
                results_t results = co_yield std::invoke(batcher, std::span<Op const>(ops));
                deliver_all<Op>(s, b, ops, std::move(results), to);
            }
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            for (auto const& t : targets) s.fail(t, failure);
        }
    }

    std::tuple<Batchers...> batchers_;
};

/// Makes an executor for the operation set `Ops` that owns the given batchers, one per
/// operation type.
template <class Ops, class... Batchers>
[[nodiscard]] auto make_executor(Batchers&&... batchers) {
    static_assert(is_operations_v<Ops>, "batch: make_executor<Ops> needs a batch::operations<...> list as Ops");
    return executor<Ops, std::decay_t<Batchers>...>(std::in_place, std::forward<Batchers>(batchers)...);
}

} // namespace batch
