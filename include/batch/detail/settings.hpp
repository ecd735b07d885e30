#pragma once

#include <cstddef>
#include <type_traits>

namespace batch::detail {

/// How a type declares one of the library's compile-time settings (`deduplicate`,
/// `cacheable`, `cache_failures`, `max_batch_size`): not at all, as a usable constant, or in a way that cannot work.
enum class setting { absent, constant, not_static, not_constant };

template <class T>
constexpr setting deduplicate_setting() {
    if constexpr (!requires { &T::deduplicate; }) {
        return setting::absent;
    } else if constexpr (std::is_member_pointer_v<decltype(&T::deduplicate)>) {
        return setting::not_static;
    } else {
        return requires { std::bool_constant<bool(T::deduplicate)>{}; }
        ? setting::constant : setting::not_constant;
    }
}

template <class T>
constexpr setting cacheable_setting() {
    if constexpr (!requires { &T::cacheable; }) {
        return setting::absent;
    } else if constexpr (std::is_member_pointer_v<decltype(&T::cacheable)>) {
        return setting::not_static;
    } else {
        return requires { std::bool_constant<bool(T::cacheable)>{}; }
        ? setting::constant : setting::not_constant;
    }
}

template <class T>
constexpr setting cache_failures_setting() {
    if constexpr (!requires { &T::cache_failures; }) {
        return setting::absent;
    } else if constexpr (std::is_member_pointer_v<decltype(&T::cache_failures)>) {
        return setting::not_static;
    } else {
        return requires { std::bool_constant<bool(T::cache_failures)>{}; }
        ? setting::constant : setting::not_constant;
    }
}

template <class T>
constexpr setting max_batch_size_setting() {
    if constexpr (!requires { &T::max_batch_size; }) {
        return setting::absent;
    } else if constexpr (std::is_member_pointer_v<decltype(&T::max_batch_size)>) {
        return setting::not_static;
    } else {
        return requires { std::integral_constant<std::size_t, T::max_batch_size>{}; }
        ? setting::constant : setting::not_constant;
    }
}

} // namespace batch::detail
