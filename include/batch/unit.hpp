#pragma once

#include <type_traits>

namespace batch {

/// The placeholder that stands for a `void` result inside a tuple, vector or map.
struct unit {
    friend constexpr bool operator==(unit, unit) noexcept { return true; }
};

/// The type that holds a result: `R`, or `batch::unit` for `void`.
template <class R>
using stored_t = std::conditional_t<std::is_void_v<R>, unit, R>;

} // namespace batch
