#pragma once

// What happens when something cannot be yielded: one static_assert that says why and how to
// fix it, and a stand-in result so that the code after the yield compiles without follow-on
// errors.

#include <batch/detail/base/traits.hpp>
#include <batch/detail/run/yield.hpp>
#include <batch/detail/run/yield_structures.hpp>
#include <batch/operation.hpp>
#include <batch/operation_set.hpp>
#include <batch/outcome.hpp>

#include <boost/hana/tuple.hpp>

#include <array>
#include <coroutine>
#include <cstddef>
#include <map>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace batch::detail {

template <class Ops, class First, class... Rest>
struct first_unyieldable {
    using type = std::conditional_t<yieldable<First, Ops>, typename first_unyieldable<Ops, Rest...>::type, First>;
};
template <class Ops, class Last>
struct first_unyieldable<Ops, Last> {
    using type = Last;
};

template <class Ops, class Tuple>
struct first_unyieldable_in;
template <class Ops, class... Items>
struct first_unyieldable_in<Ops, boost::hana::tuple<Items...>> : first_unyieldable<Ops, Items...> {};

template <class T>
inline constexpr bool is_std_tuple_v = false;
template <class... Items>
inline constexpr bool is_std_tuple_v<std::tuple<Items...>> = true;
template <class A, class B>
inline constexpr bool is_std_tuple_v<std::pair<A, B>> = true;

template <class T>
inline constexpr bool is_std_array_v = false;
template <class Item, std::size_t N>
inline constexpr bool is_std_array_v<std::array<Item, N>> = true;

/// What yielding `Yielded` gives, or would most plausibly have given when it cannot be
/// yielded (a std::tuple of operations, say), so that the code after a rejected yield compiles
/// and one mistake gives one error. For an operation type, its result.
template <class Yielded>
struct presumed_result {
    using type = anything;
};
template <class Yielded>
using presumed_result_t = typename presumed_result<Yielded>::type;
template <class Yielded>
using presumed_stored_t = stored_t<presumed_result_t<Yielded>>;

template <operation Op>
struct presumed_result<Op> {
    using type = result_of_t<Op>;
};
template <class U, class Ops>
struct presumed_result<gen<U, Ops>> {
    using type = U;
};
template <class U, class Ops, threads Th>
struct presumed_result<shared<U, Ops, Th>> {
    using type = U;
};
template <class... Items>
struct presumed_result<boost::hana::tuple<Items...>> {
    using type = std::tuple<presumed_stored_t<Items>...>;
};
template <class... Items>
struct presumed_result<std::tuple<Items...>> {
    using type = std::tuple<presumed_stored_t<Items>...>;
};
template <class A, class B>
struct presumed_result<std::pair<A, B>> {
    using type = std::pair<presumed_stored_t<A>, presumed_stored_t<B>>;
};
template <class Item, std::size_t N>
struct presumed_result<std::array<Item, N>> {
    using type = std::array<presumed_stored_t<Item>, N>;
};
template <class Item, class... Rest>
struct presumed_result<std::vector<Item, Rest...>> {
    using type = std::vector<presumed_stored_t<Item>>;
};
template <class Key, class Item, class... Rest>
struct presumed_result<std::map<Key, Item, Rest...>> {
    using type = std::map<Key, presumed_stored_t<Item>>;
};
template <class Key, class Item, class... Rest>
struct presumed_result<std::unordered_map<Key, Item, Rest...>> {
    using type = std::unordered_map<Key, presumed_stored_t<Item>>;
};
template <std::ranges::range R>
requires(!std::is_same_v<presumed_result_t<std::ranges::range_value_t<R>>, anything>) struct presumed_result<R> {
    using type = std::vector<presumed_stored_t<std::ranges::range_value_t<R>>>;
};

/// What settling `Yielded` would give: its presumed result with an outcome in each leaf.
template <class Yielded>
struct presumed_settled {
    using type = outcome<presumed_result_t<Yielded>>;
};
template <class Yielded>
using presumed_settled_t = typename presumed_settled<Yielded>::type;
template <class... Items>
struct presumed_settled<boost::hana::tuple<Items...>> {
    using type = std::tuple<presumed_settled_t<Items>...>;
};
template <class Item, class... Rest>
struct presumed_settled<std::vector<Item, Rest...>> {
    using type = std::vector<presumed_settled_t<Item>>;
};
template <class Key, class Item, class... Rest>
struct presumed_settled<std::map<Key, Item, Rest...>> {
    using type = std::map<Key, presumed_settled_t<Item>>;
};
template <class Key, class Item, class... Rest>
struct presumed_settled<std::unordered_map<Key, Item, Rest...>> {
    using type = std::unordered_map<Key, presumed_settled_t<Item>>;
};
template <class X>
struct presumed_settled<settled<X>> : presumed_settled<std::remove_cvref_t<X>> {};
template <class X>
struct presumed_result<settled<X>> : presumed_settled<std::remove_cvref_t<X>> {};

/// Stands in for the awaiter of a rejected yield.
template <class Result>
struct rejected_yield {
    static constexpr bool await_ready() noexcept { return true; }
    static void await_suspend(std::coroutine_handle<>) noexcept {}
    static Result await_resume() noexcept; // never defined: the program does not compile
};

/// The item of a `batch::settled`; absent for anything else.
template <class T>
struct settled_item {};
template <class X>
struct settled_item<settled<X>> {
    using type = std::remove_cvref_t<X>;
};

/// Explains, with one static_assert, the first reason `Yielded` cannot be yielded from a gen
/// over `Ops`; the compiler's "with Yielded = ..." line names the type.
template <class Yielded, class Ops>
constexpr bool reject_yield() {
    constexpr bool typed = is_operations_v<Ops>;
    if constexpr (requires { typename settled_item<Yielded>::type; }) {
        return reject_yield<typename settled_item<Yielded>::type, Ops>();
    } else if constexpr (requires { typename element_of<Yielded>::type; }) {
        return reject_yield<typename element_of<Yielded>::type, Ops>();
    } else if constexpr (is_hana_tuple_v<Yielded>) {
        return reject_yield<typename first_unyieldable_in<Ops, Yielded>::type, Ops>();
    } else if constexpr (is_gen_v<Yielded> || is_shared_v<Yielded>) {
        static_assert(wrong<Yielded>, "batch: a gen cannot yield a generator over a different operation set; "
                                      "declare both generators with the same batch::operations<...> list");
    } else if constexpr (operation<Yielded> && typed) {
        static_assert(wrong<Yielded>, "batch: this operation type is not in the generator's batch::operations<...> "
                                      "list; add it there and give the executor a batcher for it");
    } else if constexpr (operation<Yielded>) {
        static_assert(wrong<Yielded>, "batch: a batch::dynamic::gen yields runtime-typed operations, derived from "
                                      "batch::dynamic::operation_of<R>; yield this typed operation from a batch::gen "
                                      "over a batch::operations<...> list that holds it");
    } else if constexpr (is_std_tuple_v<Yielded>) {
        static_assert(wrong<Yielded>, "batch: a gen cannot yield a std::tuple or std::pair; yield a Boost.Hana tuple "
                                      "(boost::hana::make_tuple(...)): the result is a std::tuple all the same");
    } else if constexpr (is_std_array_v<Yielded>) {
        static_assert(wrong<Yielded>, "batch: a gen cannot yield a std::array; yield a std::vector or a Boost.Hana "
                                      "tuple of the same items");
    } else if constexpr (!std::is_same_v<presumed_result_t<Yielded>, anything>) {
        static_assert(wrong<Yielded>, "batch: a gen yields sequences of work only as a std::vector (or a "
                                      "Boost.Hana tuple, std::map or std::unordered_map); put these items in a "
                                      "std::vector");
    } else if constexpr (typed) {
        static_assert(wrong<Yielded>, "batch: a gen cannot yield this type; a yield takes an operation in its "
                                      "batch::operations<...>, a batch::gen over them, or a Boost.Hana tuple, "
                                      "std::vector, std::map or std::unordered_map of those");
    } else {
        static_assert(wrong<Yielded>, "batch: a batch::dynamic::gen cannot yield this type; a yield takes a "
                                      "batch::dynamic::operation_of<R>, a batch::dynamic::gen, or a Boost.Hana tuple, "
                                      "std::vector, std::map or std::unordered_map of those");
    }
    return false;
}

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
/// GCC 12 copies an aggregate temporary made inside a `co_yield` or `co_await` expression into
/// the coroutine frame bit by bit, so members such as std::string end up pointing at freed
/// storage (fixed in GCC 13). Such yields are refused rather than miscompiled.
inline constexpr bool guard_gcc12_aggregates = true;
#else
inline constexpr bool guard_gcc12_aggregates = false;
#endif

template <class T>
inline constexpr bool miscompiled_temporary = std::is_aggregate_v<T> && !std::is_trivially_copyable_v<T>;
template <class... Items>
inline constexpr bool miscompiled_temporary<boost::hana::tuple<Items...>> = (miscompiled_temporary<Items> || ...);
template <class X>
inline constexpr bool miscompiled_temporary<settled<X>> = !std::is_reference_v<X> && miscompiled_temporary<X>;

template <class Yielded>
constexpr bool reject_gcc12_temporary() {
    static_assert(wrong<Yielded>,
                  "batch: GCC 12 miscompiles an aggregate with non-trivial members (such as std::string) made "
                  "inside co_yield or co_await (GCC bug, fixed in GCC 13); give this operation type (see "
                  "'Yielded = ...') a constructor, or yield a named lvalue");
    return false;
}

} // namespace batch::detail
