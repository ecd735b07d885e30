#pragma once

#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace batch::detail {

/// The spelling of `T` as the compiler prints it, for error messages.
template <class T>
constexpr std::string_view type_name() noexcept {
#if defined(__clang__) || defined(__GNUC__)
    std::string_view const pretty = __PRETTY_FUNCTION__;
    std::string_view const marker = "T = ";
    auto const begin = pretty.find(marker) + marker.size();
    auto const end = pretty.find_first_of(";]", begin);
    return pretty.substr(begin, end - begin);
#else
    return "an operation";
#endif
}

/// `type_name<T>()`, computed once at compile time.
template <class T>
inline constexpr std::string_view type_name_v = type_name<T>();

/// A key written out for messages, observers and stores: strings as they are, numbers in
/// decimal, anything else through `operator<<` if it has one.
template <class Key>
std::string key_text(Key const& k) {
    if constexpr (std::is_convertible_v<Key const&, std::string_view>) {
        return std::string(std::string_view(k));
    } else if constexpr (std::is_arithmetic_v<Key>) {
        return std::to_string(k);
    } else if constexpr (requires(std::ostream & out) { out << k; }) {
        std::ostringstream out;
        out << k;
        return out.str();
    } else {
        return "(a key that cannot be written out)";
    }
}

} // namespace batch::detail
