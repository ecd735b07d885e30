#pragma once

#include <batch/unit.hpp>

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace batch {

/// The result of one operation as a batcher reports it: a value, or the failure of that
/// operation alone.
template <class R>
class outcome {
public:
    /// The stored value type (`batch::unit` when `R` is `void`).
    using value_type = stored_t<R>;

    /// A successful outcome; for `void` results this is the default.
    outcome() requires std::is_void_v<R>
    = default;

    /// A successful outcome holding `value`.
    outcome(value_type value) : state_(std::in_place_index<0>, std::move(value)) {}

    /// A failed outcome; `error` must not be null.
    outcome(std::exception_ptr error) : state_(std::in_place_index<1>, std::move(error)) {}

    /// True when the outcome holds a value.
    [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }

    /// The value; the outcome must hold one.
    [[nodiscard]] value_type& value() & { return *std::get_if<0>(&state_); }
    [[nodiscard]] value_type const& value() const& { return *std::get_if<0>(&state_); }
    [[nodiscard]] value_type&& value() && { return std::move(*std::get_if<0>(&state_)); }

    /// The failure; null when the outcome holds a value.
    [[nodiscard]] std::exception_ptr error() const noexcept {
        auto const* e = std::get_if<1>(&state_);
        return e ? *e : nullptr;
    }

private:
    std::variant<value_type, std::exception_ptr> state_{};
};

} // namespace batch
