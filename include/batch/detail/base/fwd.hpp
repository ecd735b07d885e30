#pragma once

namespace batch {

template <class T, class Ops>
class gen;

/// Where the copies of a `batch::shared` may be used; chosen when it is made (`batch::share`).
enum class threads {
    /// On any thread (one run drives it at a time): its counts are atomic. The default.
    any,
    /// Only on the thread that shared it, which lets it count without atomics: a yield on
    /// another thread throws `batch::usage_error`.
    one,
};

template <class T, class Ops, threads Th = threads::any>
class shared;

template <class X>
class settled;

namespace detail {

struct settled_access;

template <class Ops>
class context;

template <class T, class Ops>
class promise;

/// Reaches into a generator's coroutine handle; only the library's own machinery uses it.
struct gen_access {
    template <class G>
    static auto handle(G const& g) noexcept {
        return g.handle_;
    }

    /// Takes the frame out of `g`: the caller destroys it.
    template <class G>
    static auto release(G& g) noexcept {
        auto const h = g.handle_;
        g.handle_ = {};
        return h;
    }
};

} // namespace detail
} // namespace batch
