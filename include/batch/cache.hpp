#pragma once

// Caching, in one place: which operation types an executor remembers and shares results of
// (`cacheable`, `cache_policy`, `cache_failures`, `deduplicate`), what a cache keeps per
// operation, what a cache must do (`cache_for`), and the policies:
//
//   struct get_user {
//       std::int64_t id;
//       using result_type = user;
//       using cache_policy = batch::lru_cache<10'000>; // implies cacheable
//       bool operator==(get_user const&) const = default;
//   };
//
// A policy is a type with a member template `cache<Op, Entry>` naming a class that meets
// `batch::cache_for`; a user-written policy works like the ones below. A type you cannot edit
// declares the same in its `batch::operation_traits`.

#include <batch/detail/base/cache_maps.hpp>
#include <batch/detail/base/clock.hpp>
#include <batch/detail/base/settings.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>
#include <batch/unit.hpp>

#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace batch {

/// True when `Op` names a cache policy: `using cache_policy = batch::lru_cache<1000>;`.
template <class Op>
concept has_cache_policy = requires {
    typename operation_traits<Op>::cache_policy;
}
|| requires { typename Op::cache_policy; };

/// True when an executor remembers the results of `Op`: `static constexpr bool cacheable = true;`,
/// or a `cache_policy`.
template <class Op>
inline constexpr bool caches_v = has_cache_policy<Op> || detail::option_or<detail::cacheable_option, Op>(false);

/// True when identical pending operations of type `Op` reach the batcher once
/// (`static constexpr bool deduplicate = true;`, or a cached type).
template <class Op>
inline constexpr bool deduplicates_v = detail::option_or<detail::deduplicate_option, Op>(false) || caches_v<Op>;

/// True when the cache of `Op` also remembers failures (`static constexpr bool cache_failures =
/// true;`): a failed operation then fails again, without a batcher call, until forgotten.
template <class Op>
inline constexpr bool caches_failures_v = detail::option_or<detail::cache_failures_option, Op>(false);

/// What the cache of `Op` keeps per operation: its result (`batch::unit` for `void`), or a
/// `batch::outcome` of it when the type remembers failures.
template <class Op>
using cache_entry_t = std::conditional_t<caches_failures_v<Op>, outcome<result_of_t<Op>>, stored_t<result_of_t<Op>>>;

/// What a cache of a `cache_policy` must do. `find` gives the entry kept for `op`, or null (an
/// expired entry is not found); the pointer is used at once, before any other call. `insert_or_assign`
/// keeps `entry` for `op` (it may evict others); `erase` forgets `op`, and returns whether
/// something was kept; `clear` forgets everything. Optional: `size()`, and cumulative
/// `evictions()` and `expiries()`, which the executor's stats count.
template <class C, class Op, class Entry>
concept cache_for = std::default_initializable<C> && requires(C& c, Op const& op, Entry e) {
    { c.find(op) } -> std::convertible_to<Entry const*>;
    c.insert_or_assign(op, std::move(e));
    { c.erase(op) } -> std::convertible_to<bool>;
    c.clear();
};

/// Satisfied by an operation that can be deduplicated: `==`, a hash (see `operation_hash`) and
/// a copyable result.
template <class Op>
concept deduplicable = std::equality_comparable<Op> && detail::hash_source_of<Op>()
!= detail::hash_source::none&& std::copy_constructible<stored_t<result_of_t<Op>>>;

/// Asks `prime` and `prime_error` to replace a result the cache keeps already.
struct overwrite_t {
    explicit overwrite_t() = default;
};
inline constexpr overwrite_t overwrite{};

/// Keeps every result until it is forgotten (`ex.forget(op)`, `ex.clear_cache()`): the policy of
/// a type that is only `cacheable`.
struct unbounded_cache {
    template <class Op, class Entry>
    using cache = detail::unbounded_map<Op, Entry, operation_hash<Op>>;
};

/// Keeps at most `MaxEntries` results; storing one more evicts the least recently used (a hit
/// makes a result the most recently used).
template <std::size_t MaxEntries>
struct lru_cache {
    static_assert(MaxEntries > 0, "batch: lru_cache<N> keeps at most N results; N must be at least 1");
    template <class Op, class Entry>
    using cache = detail::bounded_map<Op, Entry, operation_hash<Op>, MaxEntries, detail::no_ttl>;
};

/// Keeps each result for `Count` `Duration`s after it was stored (`expiring_cache<std::chrono::seconds,
/// 30>`), and, with `MaxEntries` above 0, at most that many, the least recently used evicted
/// first. An expired result is dropped when it is next asked for, which then goes to the batcher.
/// Each hit reads `Clock` (most of a hit's cost): a cheaper steady clock, such as one reading
/// Linux's `CLOCK_MONOTONIC_COARSE`, makes hits cheaper at the price of its resolution.
template <class Duration, typename Duration::rep Count, std::size_t MaxEntries = 0,
          class Clock = std::chrono::steady_clock>
struct expiring_cache {
    static_assert(Count > 0, "batch: expiring_cache<D, N> keeps results for N units of D; N must be above 0");
    using clock = Clock; ///< Checked by batch::operations: a steady clock.
    template <class Op, class Entry>
    using cache =
        detail::bounded_map<Op, Entry, operation_hash<Op>, MaxEntries, detail::ttl_of<Duration, Count, Clock>>;
};

namespace detail {

/// The cache policy of `Op`: the one its `operation_traits` name, or its own, or `unbounded_cache`.
template <class Op>
constexpr auto policy_of() {
    if constexpr (requires { typename operation_traits<Op>::cache_policy; }) {
        return std::type_identity<typename operation_traits<Op>::cache_policy>{};
    } else if constexpr (requires { typename Op::cache_policy; }) {
        return std::type_identity<typename Op::cache_policy>{};
    } else {
        return std::type_identity<unbounded_cache>{};
    }
}
template <class Op>
using policy_t = typename decltype(policy_of<Op>())::type;

} // namespace detail

/// The cache an executor keeps for the cached operation type `Op`: its policy's (from its
/// `operation_traits` or itself), or an `unbounded_cache`'s.
template <class Op>
using cache_t = typename detail::policy_t<Op>::template cache<Op, cache_entry_t<Op>>;

} // namespace batch
