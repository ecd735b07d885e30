#pragma once

#include <batch/detail/base/frame_pool.hpp>
#include <batch/detail/base/fwd.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/detail/base/type_name.hpp>
#include <batch/detail/run/context.hpp>
#include <batch/detail/run/scheduler.hpp>
#include <batch/detail/run/yield.hpp>
#include <batch/detail/run/yield_checks.hpp>
#include <batch/error.hpp>

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

namespace batch::detail {

/// Whom a generator tells when it finishes: the yield it is an item of, the shared generator
/// it is the body of, or no one (the driver of a generator batcher); and how its body ended.
/// Both are aligned to 8 bytes, so one word holds it all: the pointer, a tag in the lowest bit
/// for a shared generator, and the ending in the two bits above it.
class parent_link {
public:
    enum class ending : std::uintptr_t { running = 0, returned = 2, failed = 4 };

    parent_link() = default;
    explicit parent_link(waiter* w) noexcept : bits_(reinterpret_cast<std::uintptr_t>(w)) {}
    explicit parent_link(shared_base& s) noexcept : bits_(reinterpret_cast<std::uintptr_t>(&s) | shared_tag) {}

    explicit operator bool() const noexcept { return (bits_ & ~low_bits) != 0; }

    /// The yield, if that is what it is.
    [[nodiscard]] waiter* yield() const noexcept {
        return bits_ & shared_tag ? nullptr : reinterpret_cast<waiter*>(bits_ & ~low_bits);
    }
    /// The shared generator, if that is what it is.
    [[nodiscard]] shared_base* shared() const noexcept {
        return bits_ & shared_tag ? reinterpret_cast<shared_base*>(bits_ & ~low_bits) : nullptr;
    }

    /// How the body ended (`running` until it has).
    [[nodiscard]] ending how_ended() const noexcept { return static_cast<ending>(bits_ & ending_bits); }
    void end(ending e) noexcept { bits_ = (bits_ & ~ending_bits) | static_cast<std::uintptr_t>(e); }

private:
    static constexpr std::uintptr_t shared_tag = 1;
    static constexpr std::uintptr_t ending_bits = 6;
    static constexpr std::uintptr_t low_bits = shared_tag | ending_bits;
    static_assert(alignof(waiter) > low_bits && alignof(shared_base) > low_bits);
    std::uintptr_t bits_ = 0;
};

/// What every generator's promise holds whatever its result type: where it runs, who waits for
/// it, how its body ended, and how `co_yield` and `co_await` turn into enrolments. Its state
/// changes only through `start`, `start_shared`, `unstart`, `end` and its final suspend.
template <class Ops>
class promise_base {
public:
    static void* operator new(std::size_t size) { return frame_pool::local().allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept { frame_pool::local().deallocate(p, size); }

    static constexpr std::suspend_always initial_suspend() noexcept { return {}; }

    /// Tells the yield waiting for this generator that it has finished.
    struct final_awaiter {
        static constexpr bool await_ready() noexcept { return false; }

        template <class Promise>
        static void await_suspend(std::coroutine_handle<Promise> h) noexcept {
            auto& p = h.promise();
            if (p.parent_) {
                p.ctx_->generator_finished();
                if (waiter* const w = p.parent_.yield()) {
                    p.ctx_->complete(*w);
                } else {
                    p.parent_.shared()->body_finished();
                }
            }
        }

        static constexpr void await_resume() noexcept {}
    };
    static constexpr final_awaiter final_suspend() noexcept { return {}; }

    /// `co_yield x`: suspends until everything in `x` is done, then gives its result.
    template <class Yielded>
    BATCH_HOT auto yield_value(Yielded&& x) {
        using item = std::remove_reference_t<Yielded>;
        using rejected = rejected_yield<presumed_result_t<std::remove_const_t<item>>>;
        if constexpr (!operation_set<Ops>) {
            return rejected{}; // reported by get_return_object
        } else if constexpr (!yieldable<std::remove_const_t<item>, Ops>) {
            reject_yield<std::remove_const_t<item>, Ops>();
            return rejected{};
        } else if constexpr (guard_gcc12_aggregates
                             && !std::is_lvalue_reference_v<Yielded> && miscompiled_temporary<item>) {
            reject_gcc12_temporary<item>();
            return rejected{};
        } else if constexpr (operation_traits<yield_traits<std::remove_const_t<item>, Ops>>) {
            return operation_awaiter<item, Ops, !std::is_lvalue_reference_v<Yielded>>(std::forward<Yielded>(x), *ctx_);
        } else {
            return yield_awaiter<item, Ops, !std::is_lvalue_reference_v<Yielded>>(std::forward<Yielded>(x));
        }
    }

    /// `co_await x` means the same as `co_yield x`.
    template <class Yielded>
    BATCH_HOT auto await_transform(Yielded&& x) {
        return yield_value(std::forward<Yielded>(x));
    }

    /// Starts this generator in the run of `ctx` (its handle is already scheduled there): as an
    /// item of the yield `parent`, counted as a generator of the run, or, with no parent, as the
    /// driver of a generator batcher.
    void start(context<Ops>& ctx, waiter* parent) noexcept {
        ctx_ = &ctx;
        parent_ = parent_link(parent);
        if (parent) ctx.generator_started();
    }

    /// Starts this generator (its handle is already scheduled in `ctx`) as the body of the
    /// shared generator `s`, which it tells when it finishes. Counted as a generator of the run.
    void start_shared(context<Ops>& ctx, shared_base& s) noexcept {
        ctx_ = &ctx;
        parent_ = parent_link(s);
        ctx.generator_started();
    }

    /// Undoes `start` for a yield that failed part-way, before this generator ran.
    void unstart() noexcept {
        if (parent_) ctx_->generator_unstarted();
        ctx_ = nullptr;
        parent_ = parent_link();
    }

    /// True once started: a generator runs once.
    [[nodiscard]] bool started() const noexcept { return ctx_ != nullptr; }

    /// The run this generator was started in (its yields enrol there).
    [[nodiscard]] context<Ops>& run_context() const noexcept { return *ctx_; }

    /// The yield this generator was started for, if any.
    [[nodiscard]] waiter const* parent() const noexcept { return parent_.yield(); }

protected:
    using ending = parent_link::ending;

    [[nodiscard]] ending how_ended() const noexcept { return parent_.how_ended(); }
    void end(ending e) noexcept { parent_.end(e); }

private:
    context<Ops>* ctx_ = nullptr; ///< Null until started: a generator runs once.
    parent_link parent_;
};

/// The promise of a `gen<T, Ops>`: keeps the value given by `co_return`, or the exception that
/// escaped the body, in the same place (its base says which).
template <class T, class Ops>
class promise : public promise_base<Ops> {
    // A reference T is refused by gen<T, Ops> itself; keeping a value here avoids follow-on errors.
    using value_type = std::remove_cvref_t<T>;
    using ending = typename promise_base<Ops>::ending;

public:
    promise() noexcept {}
    promise(promise const&) = delete;
    promise& operator=(promise const&) = delete;
    ~promise() {
        if (this->how_ended() == ending::returned) {
            value_.~value_type();
        } else if (this->how_ended() == ending::failed) {
            error_.~exception_ptr();
        }
    }

    gen<T, Ops> get_return_object() noexcept; // defined with gen, once gen is complete

    /// `co_return v;` accepts what `return v;` would: implicit conversions only.
    template <class U = T>
    void return_value(U&& v) {
        if constexpr (std::convertible_to<U&&, T>) {
            ::new (static_cast<void*>(&value_)) value_type(std::forward<U>(v));
            this->end(ending::returned);
        } else {
            static_assert(wrong<U>, "batch: co_return gives the generator's result as 'return' would, and this "
                                    "value (see 'U = ...') does not convert implicitly to the result type T; "
                                    "convert it explicitly: co_return T(value);");
        }
    }

    void unhandled_exception() noexcept {
        // After co_return, only the destructor of a local (declared noexcept(false)) can throw.
        if (this->how_ended() == ending::returned) value_.~value_type();
        ::new (static_cast<void*>(&error_)) std::exception_ptr(std::current_exception());
        this->end(ending::failed);
    }

    /// The result, or the exception that escaped the body.
    T take() {
        if (this->how_ended() != ending::returned) [[unlikely]]
            fail();
        return std::move(value_);
    }

private:
    [[noreturn, gnu::cold, gnu::noinline]] void fail() const {
        if (this->how_ended() == ending::failed) std::rethrow_exception(error_);
        throw usage_error("batch: a batch::gen<" + std::string(type_name_v<T>)
                          + ", Ops> finished without co_return; end every path of its body with co_return "
                            "(flowing off the end of a coroutine that returns a value is undefined behaviour)");
    }

    union {
        value_type value_;
        std::exception_ptr error_;
    };
};

template <class Ops>
class promise<void, Ops> : public promise_base<Ops> {
public:
    gen<void, Ops> get_return_object() noexcept;

    void return_void() noexcept {}
    void unhandled_exception() noexcept { error_ = std::current_exception(); }

    void take() const {
        if (error_) std::rethrow_exception(error_);
    }

private:
    std::exception_ptr error_;
};

} // namespace batch::detail
