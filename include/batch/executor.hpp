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

#include <cstddef>
#include <exception>
#include <functional>
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
    void dispatch() {
        auto& b = this->template bucket_for<Op>();
        if (b.empty()) return;
        b.ops.swap(b.flight_ops);
        b.targets.swap(b.flight_targets);
        if constexpr (keyed_operation<Op>) {
            dispatch_keyed<Op>(b);
        } else {
            call<Op>(b, b.flight_ops, b.flight_targets);
        }
        b.flight_ops.clear();
        b.flight_targets.clear();
    }

    // One call per distinct batch_key, in the order each key first appeared.
    template <class Op>
    void dispatch_keyed(detail::bucket<Op>& b) {
        using key_t = std::decay_t<decltype(std::declval<Op const&>().batch_key())>;
        auto& ops = b.flight_ops;
        std::vector<key_t> keys;
        std::vector<std::size_t> group(ops.size());
        constexpr bool hashable = requires(key_t const& k) {
            { std::hash<key_t>{}(k) } -> std::convertible_to<std::size_t>;
        };
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
            call<Op>(b, ops, b.flight_targets);
            return;
        }
        for (std::size_t g = 0; g < keys.size(); ++g) {
            std::vector<Op> group_ops;
            std::vector<typename detail::bucket<Op>::stored_target> group_targets;
            for (std::size_t i = 0; i < ops.size(); ++i) {
                if (group[i] != g) continue;
                group_ops.push_back(std::move(ops[i]));
                group_targets.push_back(b.flight_targets[i]);
            }
            call<Op>(b, group_ops, group_targets);
        }
    }

    template <class Op, class Targets>
    void call(detail::bucket<Op>& b, std::vector<Op>& ops, Targets& targets) {
        constexpr auto kind = set::template kind<Op>;
        auto& batcher = batcher_of<Op>();
        ++this->counters.batches;
        this->counters.operations += ops.size();
        if (ops.size() > this->counters.largest_batch) this->counters.largest_batch = ops.size();
        ++b.stats.batches;
        b.stats.operations += ops.size();

        if constexpr (kind == detail::batcher_kind::generator) {
            this->start_driver(run_generator_batcher<Op>(batcher, std::move(ops), std::move(targets), *this));
        } else {
            std::span<Op const> const input(ops);
            try {
                if constexpr (kind == detail::batcher_kind::nothing) {
                    std::invoke(batcher, input);
                    for (auto const& t : targets) this->deliver(t, unit{});
                } else {
                    deliver_all<Op>(*this, std::invoke(batcher, input), targets);
                }
            } catch (...) {
                auto const e = std::current_exception();
                for (auto const& t : targets) this->fail(t, e);
            }
        }
    }

    // Checks the count first, so that nothing is delivered twice.
    template <class Op, class Results, class Targets>
    static void deliver_all(detail::scheduler& s, Results&& results, Targets const& targets) {
        auto const count = static_cast<std::size_t>(std::ranges::size(results));
        if (count != targets.size()) {
            throw batcher_error("batch: the batcher for '" + std::string(detail::type_name<Op>()) + "' returned "
                                + std::to_string(count) + " results for " + std::to_string(targets.size())
                                + " operations; it must return one result per operation, in order");
        }
        auto it = std::ranges::begin(results);
        for (std::size_t i = 0; i < count; ++i, ++it) {
            if constexpr (std::same_as<std::ranges::range_value_t<Results>, outcome<result_of_t<Op>>>) {
                if (auto e = it->error()) {
                    s.fail(targets[i], e);
                } else {
                    s.deliver(targets[i], std::move(*it).value());
                }
            } else {
                s.deliver(targets[i], stored_t<result_of_t<Op>>(std::move(*it)));
            }
        }
    }

    // The coroutine that owns a generator batcher's operations while its generator runs.
    template <class Op, class Batcher, class Targets>
    static gen<void, ops_t> run_generator_batcher(Batcher& batcher, std::vector<Op> ops, Targets targets,
                                                  detail::scheduler& s) {
        using batch_gen = std::invoke_result_t<Batcher&, std::span<Op const>>;
        using results_t = typename batch_gen::value_type;
        std::exception_ptr failure;
        try {
            if constexpr (std::is_void_v<results_t>) {
                co_yield std::invoke(batcher, std::span<Op const>(ops));
                for (auto const& t : targets) s.deliver(t, unit{});
            } else {
                results_t results = co_yield std::invoke(batcher, std::span<Op const>(ops));
                deliver_all<Op>(s, std::move(results), targets);
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
