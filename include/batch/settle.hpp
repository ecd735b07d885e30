#pragma once

#include <batch/detail/base/fwd.hpp>
#include <batch/detail/run/context.hpp>
#include <batch/detail/run/scheduler.hpp>
#include <batch/detail/run/yield.hpp>
#include <batch/detail/run/yield_structures.hpp>

#include <type_traits>
#include <utility>

namespace batch {

/// What `batch::settle(x)` makes: `x`, yielded so that every part of it completes and each
/// leaf gives a `batch::outcome` instead of throwing.
template <class X>
class settled {
public:
    template <class Y>
    explicit settled(std::in_place_t, Y&& y) : item_(std::forward<Y>(y)) {}

private:
    friend struct detail::settled_access;
    X item_;
};

/// `co_yield batch::settle(x)`, for anything `co_yield` accepts, waits for all of `x` and gives
/// its result with a `batch::outcome<R>` in place of each operation's or generator's result `R`:
/// an operation gives `outcome<R>`, a tuple a `std::tuple` of outcomes, a vector a vector of
/// them, a map a map of them (recursively; a `void` result gives `outcome<void>`). A failure of
/// one leaf is its outcome and fails nothing else (a batcher that breaks its contract gives its
/// operations a `batch::batcher_error` outcome); only a `batch::usage_error`, a misuse of the
/// library, is still thrown. An lvalue `x` is used in place, as by `co_yield x`. The batchers
/// do not change.
template <class X>
[[nodiscard]] settled<X> settle(X&& x) {
    return settled<X>(std::in_place, std::forward<X>(x));
}

namespace detail {

struct settled_access {
    template <class S>
    static auto& item(S& s) noexcept {
        return s.item_;
    }
};

// A settled item: enrolled as the item itself, collected with take_settled. As a structure, it
// gives its settled result whichever way it is collected, so settling twice changes nothing.
template <class X, class Ops>
requires yieldable<std::remove_cvref_t<X>, Ops>
struct yield_traits<settled<X>, Ops> {
    using inner = yield_traits<std::remove_cvref_t<X>, Ops>;
    static constexpr bool owns = !std::is_reference_v<X>; ///< False for settle(lvalue): used in place.

    static constexpr bool valid = true;
    static constexpr bool structure = true;
    template <class Take>
    using collected = typename take_settled::template result<inner>;
    using result = collected<take_plain>;
    using slots = typename inner::slots;

    template <bool Owned, class S>
    static void enroll(S& s, slots& sl, waiter& w, context<Ops>& ctx) {
        inner::template enroll<Owned && owns>(settled_access::item(s), sl, w, ctx);
    }

    template <class S>
    static void disown(S& s, waiter const& w) noexcept {
        inner::disown(settled_access::item(s), w);
    }

    template <bool Owned, class Take, class S>
    static result collect(S& s, slots& sl) {
        return take_settled::template take < inner, Owned && owns > (settled_access::item(s), sl);
    }

    template <bool Owned, class S>
    static result take(S& s, slots& sl) {
        return collect<Owned, take_plain>(s, sl);
    }
};

} // namespace detail
} // namespace batch
