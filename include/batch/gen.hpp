#pragma once

#include <batch/detail/context.hpp>
#include <batch/detail/diagnostics.hpp>
#include <batch/detail/frame_pool.hpp>
#include <batch/detail/fwd.hpp>
#include <batch/detail/scheduler.hpp>
#include <batch/detail/yield.hpp>
#include <batch/operation.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace batch {
namespace detail {

/// What every generator's promise holds whatever its result type: where it runs, who waits
/// for it, and how `co_yield` and `co_await` turn into enrolments.
template <class Ops>
struct promise_base {
    context<Ops>* ctx = nullptr;
    waiter* parent = nullptr; ///< The yield waiting for this generator; null for a batcher's driver.
    bool started = false;
    std::exception_ptr error;

    struct final_awaiter {
        static constexpr bool await_ready() noexcept { return false; }

        template <class Promise>
        static void await_suspend(std::coroutine_handle<Promise> h) noexcept {
            auto& p = h.promise();
            if (p.parent) {
                --p.ctx->live_generators;
                p.ctx->complete(*p.parent);
            }
        }

        static constexpr void await_resume() noexcept {}
    };

    static void* operator new(std::size_t size) { return frame_pool::local().allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept { frame_pool::local().deallocate(p, size); }

    static constexpr std::suspend_always initial_suspend() noexcept { return {}; }
    static constexpr final_awaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept { error = std::current_exception(); }

    /// `co_yield x`: suspends until everything in `x` is done, then gives its result.
    template <class Yielded>
    auto yield_value(Yielded&& x) {
        using item = std::remove_reference_t<Yielded>;
        using rejected = rejected_yield<typename presumed_result<std::remove_const_t<item>>::type>;
        if constexpr (!yieldable<std::remove_const_t<item>, Ops>) {
            reject_yield<std::remove_const_t<item>, Ops>();
            return rejected{};
        } else if constexpr (guard_gcc12_aggregates
                             && !std::is_lvalue_reference_v<Yielded> && miscompiled_temporary<item>) {
            reject_gcc12_temporary<item>();
            return rejected{};
        } else {
            return yield_awaiter<item, Ops, !std::is_lvalue_reference_v<Yielded>>(ctx, std::forward<Yielded>(x));
        }
    }

    /// `co_await x` means the same as `co_yield x`.
    template <class Yielded>
    auto await_transform(Yielded&& x) {
        return yield_value(std::forward<Yielded>(x));
    }
};

template <class T, class Ops>
struct promise : promise_base<Ops> {
    std::optional<T> value;

    gen<T, Ops> get_return_object() noexcept {
        return gen<T, Ops>(std::coroutine_handle<promise>::from_promise(*this));
    }

    template <class U = T>
    requires std::constructible_from<T, U&&>
    void return_value(U&& v) { value.emplace(std::forward<U>(v)); }

    T take() {
        if (this->error) std::rethrow_exception(this->error);
        return std::move(*value);
    }
};

template <class Ops>
struct promise<void, Ops> : promise_base<Ops> {
    gen<void, Ops> get_return_object() noexcept {
        return gen<void, Ops>(std::coroutine_handle<promise>::from_promise(*this));
    }

    void return_void() noexcept {}

    void take() {
        if (this->error) std::rethrow_exception(this->error);
    }
};

} // namespace detail

/// A lazy, move-only coroutine that yields operations, generators and structures of them over
/// the operation set `Ops`, and produces a `T` (possibly `void`).
template <class T, class Ops>
class [[nodiscard]] gen {
    static_assert(is_operation_set_v<Ops> && sizeof(Ops) > 0, // sizeof: check the list's contents first
                  "batch: the second argument of batch::gen<T, Ops> must be a batch::operations<...> list");
    static_assert(!std::is_reference_v<T>, "batch: batch::gen<T, Ops> cannot produce a reference; "
                                           "return a value or a pointer");

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

} // namespace batch
