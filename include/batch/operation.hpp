#pragma once

#include <batch/detail/settings.hpp>
#include <batch/detail/traits.hpp>
#include <batch/outcome.hpp>
#include <batch/unit.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>

namespace batch {

namespace detail {

template <class Op>
concept has_nested_result_type = requires {
    typename Op::result_type;
};

template <class Op>
struct default_operation_traits {};

template <has_nested_result_type Op>
struct default_operation_traits<Op> {
    using result_type = typename Op::result_type;
};

} // namespace detail

/// Describes an operation type; specialise it to adapt a type you cannot edit.
template <class Op>
struct operation_traits : detail::default_operation_traits<Op> {};

/// Satisfied by a move-constructible object type whose `operation_traits` name a `result_type`.
template <class Op>
concept operation = std::is_object_v<Op> && std::move_constructible<Op> && requires {
    typename operation_traits<Op>::result_type;
};

/// The result an operation produces (possibly `void`).
template <class Op>
using result_of_t = typename operation_traits<Op>::result_type;

/// Satisfied when `Op` has a `batch_key()` that groups its operations into batcher calls.
template <class Op>
concept keyed_operation = requires(Op const& op) {
    { op.batch_key() } -> std::equality_comparable;
};

namespace detail {

/// A member named `batch_key`, usable or not: a data member, a non-const or overloaded function.
template <class Op>
concept names_batch_key = requires {
    &Op::batch_key;
}
|| requires(Op& op) { op.batch_key(); };

} // namespace detail

/// True when `Op` names a cache policy: `using cache_policy = batch::lru_cache<1000>;`.
template <class Op>
concept has_cache_policy = requires {
    typename Op::cache_policy;
};

/// True when an executor remembers the results of `Op`: `static constexpr bool cacheable = true;`,
/// or a `cache_policy`.
template <class Op>
inline constexpr bool caches_v = [] {
    if constexpr (has_cache_policy<Op>) return true;
    if constexpr (detail::cacheable_setting<Op>() == detail::setting::constant) return bool(Op::cacheable);
    return false;
}();

/// True when identical pending operations of type `Op` reach the batcher once
/// (`static constexpr bool deduplicate = true;`, or a cached type).
template <class Op>
inline constexpr bool deduplicates_v = [] {
    if constexpr (detail::deduplicate_setting<Op>() == detail::setting::constant) {
        if (Op::deduplicate) return true;
    }
    return caches_v<Op>;
}();

/// True when the cache of `Op` also remembers failures (`static constexpr bool cache_failures =
/// true;`): a failed operation then fails again, without a batcher call, until forgotten.
template <class Op>
inline constexpr bool caches_failures_v = [] {
    if constexpr (detail::cache_failures_setting<Op>() == detail::setting::constant) return bool(Op::cache_failures);
    return false;
}();

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

/// The most operations one batcher call of `T` (an operation or a batcher type) may take: its
/// `static constexpr std::size_t max_batch_size`, or 0 for no limit.
template <class T>
inline constexpr std::size_t max_batch_size_v = [] {
    if constexpr (detail::max_batch_size_setting<T>() == detail::setting::constant)
        return std::size_t{T::max_batch_size};
    return std::size_t{0};
}();

/// Satisfied by an operation that can be deduplicated: `==`, `std::hash<Op>` and a copyable result.
template <class Op>
concept deduplicable = std::equality_comparable<Op> && requires(Op const& op) {
    { std::hash<Op>{}(op) } -> std::convertible_to<std::size_t>;
} && std::copy_constructible<stored_t<result_of_t<Op>>>;

namespace detail {

/// A result an operation may have: `void` or a non-const, non-array object type.
template <class R>
inline constexpr bool
    value_result = std::is_void_v<R> || (std::is_object_v<R> && !std::is_const_v<R> && !std::is_array_v<R>);

/// The first reason `Op` cannot serve as an operation type, if any.
enum class operation_problem {
    none,
    not_object,
    no_result_type,
    bad_result_type,
    not_movable,
    bad_batch_key,
    bad_flag,
    bad_max_batch_size,
    failures_without_cache,
    uncached_policy,
    unsteady_clock,
    bad_cache_policy,
    no_equality,
    no_hash,
    result_not_copyable,
    key_not_copyable
};

/// True when `Op` says `static constexpr bool cacheable = false;`.
template <class Op>
constexpr bool says_not_cacheable() {
    if constexpr (cacheable_setting<Op>() == setting::constant) {
        return !bool(Op::cacheable);
    } else {
        return false;
    }
}

/// True when the `cache_policy` of `Op` has a member template `cache<Op, Entry>` meeting `cache_for`.
template <class Op>
constexpr bool valid_cache_policy_of() {
    if constexpr (requires { typename Op::cache_policy::template cache<Op, cache_entry_t<Op>>; }) {
        return cache_for<typename Op::cache_policy::template cache<Op, cache_entry_t<Op>>, Op, cache_entry_t<Op>>;
    } else {
        return false;
    }
}
template <class Op>
inline constexpr bool valid_cache_policy = valid_cache_policy_of<Op>();

/// True when the `cache_policy` of `Op` names a `clock` that is not steady.
template <class Op>
constexpr bool unsteady_policy_clock() {
    if constexpr (requires { typename Op::cache_policy::clock; }) {
        return !Op::cache_policy::clock::is_steady;
    } else {
        return false;
    }
}

template <class Op>
constexpr operation_problem problem_of() {
    using enum operation_problem;
    if constexpr (!std::is_object_v<Op>) {
        return not_object;
    } else if constexpr (!requires { typename operation_traits<Op>::result_type; }) {
        return no_result_type;
    } else if constexpr (!value_result<result_of_t<Op>>) {
        return bad_result_type;
    } else if constexpr (!std::move_constructible<Op>) {
        return not_movable;
    } else if constexpr (names_batch_key<Op> && !keyed_operation<Op>) {
        return bad_batch_key;
    } else if constexpr (deduplicate_setting<Op>() > setting::constant || cacheable_setting<Op>() > setting::constant
                         || cache_failures_setting<Op>() > setting::constant) {
        return bad_flag;
    } else if constexpr (max_batch_size_setting<Op>() > setting::constant
                         || (max_batch_size_setting<Op>() == setting::constant && max_batch_size_v<Op> == 0)) {
        return bad_max_batch_size;
    } else if constexpr (caches_failures_v<Op> && !caches_v<Op>) {
        return failures_without_cache;
    } else if constexpr (has_cache_policy<Op> && says_not_cacheable<Op>()) {
        return uncached_policy;
    } else if constexpr (deduplicates_v<Op> && !std::equality_comparable<Op>) {
        return no_equality;
    } else if constexpr (deduplicates_v<Op> && !requires(Op const& op) {
                             { std::hash<Op>{}(op) } -> std::convertible_to<std::size_t>;
                         }) {
        return no_hash;
    } else if constexpr (deduplicates_v<Op> && !std::copy_constructible<stored_t<result_of_t<Op>>>) {
        return result_not_copyable;
    } else if constexpr (caches_v<Op> && !std::copy_constructible<Op>) {
        return key_not_copyable;
    } else if constexpr (has_cache_policy<Op> && unsteady_policy_clock<Op>()) {
        return unsteady_clock;
    } else if constexpr (has_cache_policy<Op> && !valid_cache_policy<Op>) {
        return bad_cache_policy;
    } else {
        return none;
    }
}

/// True when `Op` can serve as an operation type.
template <class Op>
inline constexpr bool usable_operation = problem_of<Op>() == operation_problem::none;

/// Reports the problem of `Op` with one static_assert whose "with Op = ..." line names the type;
/// returns true, so that the assertion that called it adds no second error.
template <class Op>
constexpr bool report_operation() {
    using enum operation_problem;
    constexpr auto problem = problem_of<Op>();
    if constexpr (problem == not_object) {
        static_assert(wrong<Op>, "batch: batch::operations<...> lists a type that is not an object type (see "
                                 "'Op = ...'); list the operation structs themselves, not references to them");
    } else if constexpr (problem == no_result_type) {
        static_assert(wrong<Op>, "batch: this operation type (see 'Op = ...') has no result type; give it a nested "
                                 "'using result_type = ...;' or specialise batch::operation_traits for it");
    } else if constexpr (problem == bad_result_type) {
        static_assert(wrong<Op>, "batch: the result_type of this operation (see 'Op = ...') must be void or a "
                                 "non-const value type, not a reference, const or an array; use a value or a pointer");
    } else if constexpr (problem == not_movable) {
        static_assert(wrong<Op>, "batch: this operation type (see 'Op = ...') must be move-constructible");
    } else if constexpr (problem == bad_batch_key) {
        static_assert(wrong<Op>, "batch: the batch_key of this operation (see 'Op = ...') cannot group it: declare "
                                 "'batch_key() const', a const member function returning a type that has ==");
    } else if constexpr (problem == bad_flag) {
        static_assert(wrong<Op>, "batch: deduplicate, cacheable and cache_failures on this operation (see 'Op = "
                                 "...') must be compile-time constants: write 'static constexpr bool deduplicate = "
                                 "true;'");
    } else if constexpr (problem == bad_max_batch_size) {
        static_assert(wrong<Op>, "batch: max_batch_size on this operation (see 'Op = ...') must be a compile-time "
                                 "constant of at least 1: write 'static constexpr std::size_t max_batch_size = 100;'");
    } else if constexpr (problem == no_equality) {
        static_assert(wrong<Op>, "batch: a deduplicate or cacheable operation (see 'Op = ...') needs ==; add "
                                 "'bool operator==(Op const&) const = default;' to it");
    } else if constexpr (problem == no_hash) {
        static_assert(wrong<Op>, "batch: a deduplicate or cacheable operation (see 'Op = ...') needs a hash: "
                                 "specialise std::hash for it");
    } else if constexpr (problem == result_not_copyable) {
        static_assert(wrong<Op>, "batch: a deduplicate or cacheable operation (see 'Op = ...') gives one result to "
                                 "several askers, so its result_type must be copyable");
    } else if constexpr (problem == failures_without_cache) {
        static_assert(wrong<Op>, "batch: cache_failures on this operation (see 'Op = ...') needs a cache: add "
                                 "'static constexpr bool cacheable = true;' or a cache_policy");
    } else if constexpr (problem == uncached_policy) {
        static_assert(wrong<Op>, "batch: this operation (see 'Op = ...') has a cache_policy but says cacheable = "
                                 "false; remove one of the two");
    } else if constexpr (problem == bad_cache_policy) {
        static_assert(wrong<Op>, "batch: the cache_policy of this operation (see 'Op = ...') must have a member "
                                 "template cache<Op, Entry> meeting batch::cache_for (find, insert_or_assign, "
                                 "erase, clear); use batch::unbounded_cache, lru_cache<N> or expiring_cache<D, N>");
    } else if constexpr (problem == unsteady_clock) {
        static_assert(wrong<Op>, "batch: the cache_policy of this operation (see 'Op = ...') reads a clock that is "
                                 "not steady (it may go back); give expiring_cache a steady clock, such as "
                                 "std::chrono::steady_clock, the default");
    } else if constexpr (problem == key_not_copyable) {
        static_assert(wrong<Op>, "batch: a cacheable operation (see 'Op = ...') is kept as the key of its cached "
                                 "result, so it must be copyable");
    }
    return true;
}

/// Reports the first unusable operation type in `Ops`, or a duplicate: one mistake, one error.
template <class... Ops>
constexpr bool report_operations() {
    constexpr bool usable[] = {usable_operation<Ops>..., true};
    constexpr std::size_t first_bad = [&] {
        std::size_t i = 0;
        while (i < sizeof...(Ops) && usable[i]) ++i;
        return i;
    }();
    if constexpr (first_bad < sizeof...(Ops)) {
        using bad = std::tuple_element_t<first_bad, std::tuple<Ops...>>;
        return report_operation<bad>();
    } else {
        static_assert(all_distinct<Ops...>, "batch: batch::operations<...> lists the same operation type twice; "
                                            "list each operation type once");
        return true;
    }
}

} // namespace detail

/// The compile-time set of operation types a generator may yield and an executor serves.
template <class... Ops>
struct operations {
    static_assert(detail::report_operations<Ops...>());

    /// True when every type is a usable operation type, listed once.
    static constexpr bool valid = (detail::usable_operation<Ops> && ...) && detail::all_distinct<Ops...>;

    /// How many operation types there are.
    static constexpr std::size_t size = sizeof...(Ops);

    /// True when `Op` is one of the operation types.
    template <class Op>
    static constexpr bool contains = detail::count_of<Op, Ops...> == 1;

    /// The position of `Op` in the list.
    template <class Op>
    static constexpr std::size_t index_of = detail::index_of<Op, Ops...>;
};

/// True for a `batch::operations<...>` list.
template <class T>
inline constexpr bool is_operations_v = false;
template <class... Ops>
inline constexpr bool is_operations_v<operations<Ops...>> = true;

namespace detail {

/// The operation set of the runtime-typed baseline declares `runtime_typed`; see batch::dynamic.
template <class Ops>
concept runtime_typed_operations = requires {
    Ops::runtime_typed;
};

/// What a generator may be written over: a `batch::operations<...>` list, or the runtime-typed
/// `batch::dynamic::ops`.
template <class Ops>
concept operation_set = is_operations_v<Ops> || runtime_typed_operations<Ops>;

} // namespace detail

} // namespace batch
