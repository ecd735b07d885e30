#pragma once

#include <batch/detail/base/traits.hpp>
#include <batch/detail/checks/operation_checks.hpp>

#include <cstddef>

namespace batch {

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
