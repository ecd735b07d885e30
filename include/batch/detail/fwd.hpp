#pragma once

namespace batch {

template <class T, class Ops>
class gen;

namespace detail {

template <class Ops>
class context;

template <class T, class Ops>
struct promise;

/// Reaches into a generator's coroutine handle; only the library's own machinery uses it.
struct gen_access {
    template <class G>
    static auto handle(G const& g) noexcept {
        return g.handle_;
    }
};

} // namespace detail
} // namespace batch
