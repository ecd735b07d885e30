#pragma once

#include <cstddef>
#include <type_traits>

namespace batch::detail {

/// How a type declares one of the library's compile-time settings: not at all, as a usable
/// constant, or in a way that cannot work.
enum class setting { absent, constant, not_static, not_constant };

// Each option a type may declare: `of<T>()` says how `T` declares it, `value<T>()` reads it.

struct deduplicate_option {
    template <class T>
    static constexpr setting of() {
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
    static constexpr bool value() {
        return bool(T::deduplicate);
    }
};

struct cacheable_option {
    template <class T>
    static constexpr setting of() {
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
    static constexpr bool value() {
        return bool(T::cacheable);
    }
};

struct cache_failures_option {
    template <class T>
    static constexpr setting of() {
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
    static constexpr bool value() {
        return bool(T::cache_failures);
    }
};

struct max_batch_size_option {
    template <class T>
    static constexpr setting of() {
        if constexpr (!requires { &T::max_batch_size; }) {
            return setting::absent;
        } else if constexpr (std::is_member_pointer_v<decltype(&T::max_batch_size)>) {
            return setting::not_static;
        } else {
            return requires { std::integral_constant<std::size_t, T::max_batch_size>{}; }
            ? setting::constant : setting::not_constant;
        }
    }
    template <class T>
    static constexpr std::size_t value() {
        return std::size_t{T::max_batch_size};
    }
};

} // namespace batch::detail
