#pragma once

namespace batch {

template <class T, class Ops>
class gen;

template <class T, class Ops>
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
