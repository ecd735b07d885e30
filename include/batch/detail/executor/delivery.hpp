#pragma once

#include <batch/cache.hpp>
#include <batch/detail/base/type_name.hpp>
#include <batch/detail/run/batch_call.hpp>
#include <batch/detail/run/bucket.hpp>
#include <batch/detail/run/scheduler.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>
#include <batch/unit.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <ranges>
#include <utility>

namespace batch::detail {

// Delivery: what a batcher call's answer does to the generators waiting on it, and to the
// cache of a cached type. Both executors' plain, generator and asynchronous calls end here.

/// A void batcher's call succeeded: every operation is done. Returns how many failed: none.
template <class Op>
std::size_t deliver(scheduler& s, bucket<Op>&, typename bucket<Op>::call_type const& c) noexcept {
    auto const to = c.results_to();
    for (std::size_t i = 0; i < c.size(); ++i) to.answer(s, i, unit{});
    return 0;
}

/// Delivers `results`, parallel to the call's operations, after checking their count (so that
/// nothing is delivered twice), and remembers them for a cached type. Returns how many
/// operations failed alone: a `batch::outcome` holding an error, or a result that could not be
/// taken from `results` or remembered (its move, copy or the cache threw), which fails its
/// operation alone, the others delivered.
template <class Op, class Results>
BATCH_STEP std::size_t deliver(scheduler& s, bucket<Op>& b, typename bucket<Op>::call_type const& c,
                               Results&& results) {
    using stored = stored_t<result_of_t<Op>>;
    check_result_count(static_cast<std::size_t>(std::ranges::size(results)), c.size(), "batch: the batcher for",
                       type_name_v<Op>);
    std::size_t failed = 0;
    auto const to = c.results_to();
    auto it = std::ranges::begin(results);
    for (std::size_t i = 0; i < c.size(); ++i, ++it) {
        auto answer = [&](auto&& value) {
            if constexpr (decltype(b.cache)::enabled) b.cache.remember(c.ops[i], value);
            to.answer(s, i, stored(std::forward<decltype(value)>(value)));
        };
        try {
            if constexpr (std::same_as<std::ranges::range_value_t<Results>, outcome<result_of_t<Op>>>) {
                if (auto e = it->error()) {
                    b.cache.remember_failure(c.ops[i], e);
                    to.fail(s, i, e);
                    ++failed;
                } else {
                    answer(std::move(*it).value());
                }
            } else {
                answer(std::move(*it));
            }
        } catch (...) { // nothing was delivered to operation i
            to.fail(s, i, std::current_exception());
            ++failed;
        }
    }
    return failed;
}

/// Every operation of the call failed with `e`: the generators waiting on it are told, and a
/// type whose cache keeps failures remembers it.
template <class Op>
void fail_call(scheduler& s, bucket<Op>& b, typename bucket<Op>::call_type const& c,
               std::exception_ptr const& e) noexcept {
    c.results_to().fail_all(s, e);
    if constexpr (caches_failures_v<Op>) {
        for (auto const& op : c.ops) b.cache.remember_failure(op, e);
    }
}

} // namespace batch::detail
