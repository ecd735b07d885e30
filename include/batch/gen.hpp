#pragma once

#include <batch/detail/base/fwd.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/detail/run/promise.hpp>
#include <batch/operation.hpp>
#include <batch/operation_set.hpp>

#include <concepts>
#include <coroutine>
#include <type_traits>
#include <utility>

namespace batch {

/// A lazy, move-only coroutine that yields operations, generators and structures of them over
/// the operation set `Ops`, and produces a `T` (possibly `void`).
template <class T, class Ops>
class [[nodiscard]] gen {
public:
    using promise_type = detail::promise<T, Ops>;
    using value_type = T;      ///< What `co_yield` of this generator gives.
    using operation_set = Ops; ///< The operations it may yield.

    /// An empty generator; yielding it throws `batch::usage_error`.
    gen() noexcept = default;

    gen(gen&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}

    gen& operator=(gen&& other) noexcept {
        if (this != &other) {
            destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }

    /// A generator runs once, so it cannot be copied (`std::is_copy_constructible_v` is false).
    gen(gen const&) = delete; // batch: a batch::gen is move-only (it runs once): std::move it

    /// Copying a non-const generator (passing it by value, `auto g2 = g;`) gives the library's
    /// message instead of the standard library's. (A copy from a const one, as from an
    /// initializer list, names the deleted constructor above.)
    template <class G>
    requires std::same_as<G, gen> gen(G&) {
        static_assert(detail::wrong<G>, "batch: a batch::gen is move-only (it runs once): std::move it, and fill a "
                                        "std::vector of generators with push_back, not from an initializer list");
    }
    gen& operator=(gen const&) = delete;

    ~gen() { destroy(); }

    /// True unless moved-from or default-constructed.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }

private:
    friend promise_type;
    friend detail::gen_access;

    explicit gen(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}

    void destroy() noexcept {
        if (handle_) handle_.destroy();
    }

    std::coroutine_handle<promise_type> handle_;
};

// The checks of T and Ops sit here rather than in gen itself: a class that fails its own
// static_assert is left without its promise_type by clang, which then reports that too.
template <class T, class Ops>
gen<T, Ops> detail::promise<T, Ops>::get_return_object() noexcept {
    static_assert(detail::operation_set<Ops>,
                  "batch: the second argument of batch::gen<T, Ops> must be a batch::operations<...> list");
    static_assert(!std::is_reference_v<T>, "batch: batch::gen<T, Ops> cannot produce a reference; "
                                           "return a value or a pointer");
    return gen<T, Ops>(std::coroutine_handle<promise>::from_promise(*this));
}

template <class Ops>
gen<void, Ops> detail::promise<void, Ops>::get_return_object() noexcept {
    static_assert(detail::operation_set<Ops>,
                  "batch: the second argument of batch::gen<T, Ops> must be a batch::operations<...> list");
    return gen<void, Ops>(std::coroutine_handle<promise>::from_promise(*this));
}

} // namespace batch
