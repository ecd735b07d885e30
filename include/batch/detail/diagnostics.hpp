#pragma once

#include <batch/detail/fwd.hpp>
#include <batch/detail/yield.hpp>
#include <batch/operation.hpp>

#include <boost/hana/tuple.hpp>

#include <coroutine>
#include <map>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace batch::detail {

/// A `false` that waits for instantiation, so an always-failing assertion fires only when used.
template <class...>
inline constexpr bool wrong = false;

template <class T>
inline constexpr bool is_gen_v = false;
template <class U, class Ops>
inline constexpr bool is_gen_v<gen<U, Ops>> = true;

template <class T>
inline constexpr bool is_hana_tuple_v = false;
template <class... Items>
inline constexpr bool is_hana_tuple_v<boost::hana::tuple<Items...>> = true;

template <class T>
struct element_of {};
template <class Item, class... Rest>
struct element_of<std::vector<Item, Rest...>> {
    using type = Item;
};
template <class Key, class Item, class... Rest>
struct element_of<std::map<Key, Item, Rest...>> {
    using type = Item;
};
template <class Key, class Item, class... Rest>
struct element_of<std::unordered_map<Key, Item, Rest...>> {
    using type = Item;
};

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

/// Converts to anything: the result of a yield of something meaningless.
struct anything {
    template <class T>
    operator T() const;
};

/// What a rejected yield would most plausibly have given, so that the code after it compiles
/// and one mistake gives one error.
template <class Yielded>
struct presumed_result {
    using type = anything;
};
template <operation Op>
struct presumed_result<Op> {
    using type = result_of_t<Op>;
};
template <class U, class Ops>
struct presumed_result<gen<U, Ops>> {
    using type = U;
};
template <class... Items>
struct presumed_result<boost::hana::tuple<Items...>> {
    using type = std::tuple<stored_t<typename presumed_result<Items>::type>...>;
};
template <class Item, class... Rest>
struct presumed_result<std::vector<Item, Rest...>> {
    using type = std::vector<stored_t<typename presumed_result<Item>::type>>;
};
template <class Key, class Item, class... Rest>
struct presumed_result<std::map<Key, Item, Rest...>> {
    using type = std::map<Key, stored_t<typename presumed_result<Item>::type>>;
};
template <class Key, class Item, class... Rest>
struct presumed_result<std::unordered_map<Key, Item, Rest...>> {
    using type = std::unordered_map<Key, stored_t<typename presumed_result<Item>::type>>;
};

/// Stands in for the awaiter of a rejected yield.
template <class Result>
struct rejected_yield {
    static constexpr bool await_ready() noexcept { return true; }
    static void await_suspend(std::coroutine_handle<>) noexcept {}
    static Result await_resume() noexcept; // never defined: the program does not compile
};

/// Explains, with one static_assert, the first reason `Yielded` cannot be yielded from a gen
/// over `Ops`; the compiler's "with Yielded = ..." note names the type.
template <class Yielded, class Ops>
constexpr bool reject_yield() {
    if constexpr (requires { typename element_of<Yielded>::type; }) {
        return reject_yield<typename element_of<Yielded>::type, Ops>();
    } else if constexpr (is_hana_tuple_v<Yielded>) {
        return reject_yield<typename first_unyieldable_in<Ops, Yielded>::type, Ops>();
    } else if constexpr (is_gen_v<Yielded>) {
        static_assert(wrong<Yielded>, "batch: a gen cannot yield a batch::gen over a different batch::operations<...> "
                                      "list; declare both generators with the same operation set");
        return false;
    } else if constexpr (operation<Yielded>) {
        static_assert(wrong<Yielded>, "batch: this operation type is not in the generator's batch::operations<...> "
                                      "list; add it there and give the executor a batcher for it");
        return false;
    } else {
        static_assert(wrong<Yielded>, "batch: a gen cannot yield this type; a yield takes an operation in its "
                                      "batch::operations<...>, a batch::gen over them, or a Boost.Hana tuple, "
                                      "std::vector, std::map or std::unordered_map of those");
        return false;
    }
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

template <class Yielded>
constexpr bool reject_gcc12_temporary() {
    static_assert(wrong<Yielded>,
                  "batch: GCC 12 miscompiles an aggregate with non-trivial members (such as std::string) made "
                  "inside co_yield or co_await (GCC bug, fixed in GCC 13); give this operation type (see "
                  "'Yielded = ...') a constructor, or yield a named lvalue");
    return false;
}

} // namespace batch::detail
