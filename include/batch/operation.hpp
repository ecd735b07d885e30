#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <type_traits>

namespace batch {

/// The placeholder that stands for a `void` result inside a tuple, vector or map.
struct unit {
    friend constexpr bool operator==(unit, unit) noexcept { return true; }
};

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

/// Satisfied by a movable object type whose `operation_traits` name a `result_type`.
template <class Op>
concept operation = std::is_object_v<Op> && std::movable<Op> && requires {
    typename operation_traits<Op>::result_type;
};

/// The result an operation produces (possibly `void`).
template <class Op>
using result_of_t = typename operation_traits<Op>::result_type;

/// The type that holds a result: `R`, or `batch::unit` for `void`.
template <class R>
using stored_t = std::conditional_t<std::is_void_v<R>, unit, R>;

/// Satisfied when `Op` has a `batch_key()` that groups its operations into batcher calls.
template <class Op>
concept keyed_operation = requires(Op const& op) {
    { op.batch_key() } -> std::equality_comparable;
};

/// True when identical pending operations of type `Op` reach the batcher once
/// (`static constexpr bool deduplicate = true;`, or `cacheable`).
template <class Op>
inline constexpr bool deduplicates_v = [] {
    if constexpr (requires { Op::deduplicate; }) {
        if (Op::deduplicate) return true;
    }
    if constexpr (requires { Op::cacheable; }) return bool(Op::cacheable);
    return false;
}();

/// True when an executor remembers the results of `Op` (`static constexpr bool cacheable = true;`).
template <class Op>
inline constexpr bool caches_v = [] {
    if constexpr (requires { Op::cacheable; }) return bool(Op::cacheable);
    return false;
}();

/// Satisfied by an operation that can be deduplicated: `==`, `std::hash<Op>` and a copyable result.
template <class Op>
concept deduplicable = std::equality_comparable<Op> && requires(Op const& op) {
    { std::hash<Op>{}(op) } -> std::convertible_to<std::size_t>;
} && std::copy_constructible<stored_t<result_of_t<Op>>>;

namespace detail {

template <class T, class... Ts>
inline constexpr std::size_t count_of = (std::size_t{std::is_same_v<T, Ts>} + ... + 0);

template <class... Ops>
constexpr bool all_distinct() {
    return ((count_of<Ops, Ops...> == 1) && ...);
}

} // namespace detail

/// The compile-time set of operation types a generator may yield and an executor serves.
template <class... Ops>
struct operations {
    static_assert((operation<Ops> && ...),
                  "batch: every type in batch::operations<...> must be an operation: give it a "
                  "nested 'using result_type = ...;' or specialise batch::operation_traits for it");
    static_assert(detail::all_distinct<Ops...>(),
                  "batch: batch::operations<...> lists the same operation type twice; list each "
                  "operation type once");

    /// How many operation types there are.
    static constexpr std::size_t size = sizeof...(Ops);

    /// True when `Op` is one of the operation types.
    template <class Op>
    static constexpr bool contains = detail::count_of<Op, Ops...> == 1;

    /// The position of `Op` in the list.
    template <class Op>
    static constexpr std::size_t index_of = [] {
        constexpr bool same[] = {std::is_same_v<Op, Ops>..., false};
        std::size_t i = 0;
        while (i < sizeof...(Ops) && !same[i]) ++i;
        return i;
    }();
};

/// True for a `batch::operations<...>` list.
template <class T>
inline constexpr bool is_operations_v = false;
template <class... Ops>
inline constexpr bool is_operations_v<operations<Ops...>> = true;

/// True for what a `batch::gen` may be written over: a `batch::operations<...>` list, or the
/// runtime-typed `batch::dynamic::ops`.
template <class T>
inline constexpr bool is_operation_set_v = is_operations_v<T>;

} // namespace batch
