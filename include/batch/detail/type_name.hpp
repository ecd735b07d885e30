#pragma once

#include <string>
#include <string_view>

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

} // namespace batch::detail
