#pragma once

// What the store batchers' builders (postgres::lookup, redis::get, ...) check of what they are
// given, at the line that builds the batcher: each check is true when what it checks is right,
// or when an earlier check (the one that reports) has failed already, so one mistake gives one
// error. A builder whose checks fail returns `not_built<Op>`, a batcher that compiles, so the
// program's later uses of it add no errors of their own.

#include <batch/detail/base/traits.hpp>
#include <batch/operation.hpp>

#include <functional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace batch::stores::detail {

/// `key_of(op)` can be called with a `Op const&`.
template <class Op, class KeyOf>
inline constexpr bool key_callable = std::is_invocable_v<KeyOf const&, Op const&>;

/// `key_of(op)` gives an integer or a string (or `key_of` cannot be called).
template <class Op, class KeyOf>
consteval bool key_is_integer_or_string() {
    if constexpr (key_callable<Op, KeyOf>) {
        using key = std::remove_cvref_t<std::invoke_result_t<KeyOf const&, Op const&>>;
        return (std::is_integral_v<key> && !std::is_same_v<key, bool>) || std::is_convertible_v<key, std::string_view>;
    } else {
        return true;
    }
}

/// `decode(args...)` can be called.
template <class Decode, class... Args>
inline constexpr bool decoder_callable = std::is_invocable_v<Decode const&, Args...>;

/// `decode(args...)` gives what converts implicitly to an operation's result `R` (a
/// `std::optional` or not), or `decode` cannot be called. Implicitly: an aggregate result made
/// from a decoder's string would compile, with its other members zero, under g++.
template <class R, class Decode, class... Args>
consteval bool decoder_gives() {
    if constexpr (decoder_callable<Decode, Args...>) {
        return std::is_convertible_v<std::invoke_result_t<Decode const&, Args...>, R>;
    } else {
        return true;
    }
}

/// What a builder whose checks failed returns: a plain batcher for `Op`, which is never run
/// (the program does not compile), so that its uses report nothing more.
template <class Op>
struct not_built {
    auto operator()(std::span<Op const>) const {
        if constexpr (!std::is_void_v<result_of_t<Op>>) return std::vector<result_of_t<Op>>();
    }
};

} // namespace batch::stores::detail
