#pragma once

// The ground floor: general type traits that every other header may use. Nothing here knows
// what an operation, a batcher or an executor is.

#include <batch/detail/base/fwd.hpp>

#include <boost/hana/fwd/tuple.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <vector>

/// Marks the few small functions that run once per operation or generator (appending to the
/// ready queue or to a bucket): inlined where they are called, with what they call (the
/// standard containers' push_back) inlined into them. Measured: left to g++ 12, push_back was
/// inlined or not depending on unrelated code elsewhere in the program, which moved W1 by 20%.
#if defined(__GNUC__) && !defined(__clang__)
#define BATCH_HOT [[gnu::always_inline, gnu::flatten]] inline
#elif defined(__GNUC__)
#define BATCH_HOT [[gnu::always_inline]] inline
#else
#define BATCH_HOT inline
#endif

/// Marks the steps every round goes through once per batch or per yield (a round's dispatch,
/// its delivery, a yield's enrolment): inlined where they are called, whatever else the program
/// holds, but not flattened (what they call for rarer cases, a cache or a structure, is left
/// to the compiler). Measured: in bench/typed.cpp, with its many workloads, g++ 12 kept each of
/// them out of line, which cost W3 about 100 instructions per round. Not for what every yield
/// site instantiates besides its enrolment (`await_suspend`, `await_resume`): forcing those too
/// saved W3 8 more instructions and cost 8.5% more compile time for a TU of 50 generators.
#if defined(__GNUC__)
#define BATCH_STEP [[gnu::always_inline]] inline
#else
#define BATCH_STEP inline
#endif

namespace batch::detail {

/// A `false` that waits for instantiation, so an always-failing assertion fires only when used.
template <class...>
inline constexpr bool wrong = false;

/// How many of `Ts` are `T`.
template <class T, class... Ts>
inline constexpr std::size_t count_of = (std::size_t{std::is_same_v<T, Ts>} + ... + 0);

/// True when no type appears twice in `Ts`.
template <class... Ts>
inline constexpr bool all_distinct = ((count_of<Ts, Ts...> == 1) && ...);

/// The position of `T` in `Ts` (`sizeof...(Ts)` when absent).
template <class T, class... Ts>
inline constexpr std::size_t index_of = [] {
    constexpr bool same[] = {std::is_same_v<T, Ts>..., false};
    std::size_t i = 0;
    while (i < sizeof...(Ts) && !same[i]) ++i;
    return i;
}();

/// For `std::optional<T>`, `T`; for any other type, itself (the stores' results may be optional:
/// empty where a key holds nothing).
template <class T>
struct unwrap_optional {
    using type = T;
};
template <class T>
struct unwrap_optional<std::optional<T>> {
    using type = T;
};
template <class T>
inline constexpr bool is_optional_v = !std::is_same_v<typename unwrap_optional<T>::type, T>;

/// Converts to anything: what a rejected construct gives, so that the code after it compiles and
/// one mistake gives one error.
struct anything {
    template <class T>
    operator T() const;
};

template <class T>
inline constexpr bool is_gen_v = false;
template <class U, class Ops>
inline constexpr bool is_gen_v<gen<U, Ops>> = true;

template <class T>
inline constexpr bool is_shared_v = false;
template <class U, class Ops, threads Th>
inline constexpr bool is_shared_v<shared<U, Ops, Th>> = true;

template <class T>
inline constexpr bool is_hana_tuple_v = false;
template <class... Items>
inline constexpr bool is_hana_tuple_v<boost::hana::tuple<Items...>> = true;

/// The item type of a std::vector, std::map or std::unordered_map; absent for anything else.
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

} // namespace batch::detail
