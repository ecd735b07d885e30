#pragma once

// How structures of yieldable items are enrolled and collected: a Boost.Hana tuple, a
// std::vector, a std::map or a std::unordered_map, each holding anything yieldable (recursively).

#include <batch/detail/run/context.hpp>
#include <batch/detail/run/scheduler.hpp>
#include <batch/detail/run/yield.hpp>
#include <batch/error.hpp>
#include <batch/operation.hpp>
#include <batch/operation_set.hpp>

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include <cstddef>
#include <exception>
#include <map>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace batch::detail {

template <class Traits>
using element_slots_t =
    std::conditional_t<std::is_empty_v<typename Traits::slots>, no_slots, std::vector<typename Traits::slots>>;

/// The slots of element `i` of a sequence: a vector entry, or nothing for generators.
template <class Traits, class Slots>
decltype(auto) element_slots(Slots& s, std::size_t i) {
    if constexpr (std::is_same_v<Slots, no_slots>) {
        static_cast<void>(i);
        return typename Traits::slots{};
    } else {
        return (s[i]);
    }
}

template <class Traits, class Slots>
void size_slots(Slots& s, std::size_t n) {
    if constexpr (!std::is_same_v<Slots, no_slots>) s.resize(n);
}

// A Boost.Hana tuple: its items run in parallel; the result is a std::tuple.
template <class... Items, class Ops>
requires(yieldable<Items, Ops>&&...) struct yield_traits<boost::hana::tuple<Items...>, Ops> {
    static constexpr bool valid = true;
    static constexpr bool structure = true;
    template <class Take>
    using collected = std::tuple<typename Take::template result<yield_traits<Items, Ops>>...>;
    using result = collected<take_plain>;
    using slots = std::tuple<yield_slots_t<Items, Ops>...>;
    using indices = std::index_sequence_for<Items...>;

    template <bool Owned, class Item>
    static void enroll(Item& t, slots& s, waiter& w, context<Ops>& ctx) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (yield_traits<Items, Ops>::template enroll<Owned>(boost::hana::at_c<I>(t), std::get<I>(s), w, ctx), ...);
        }
        (indices{});
    }

    template <class Item>
    static void disown(Item& t, waiter const& w) noexcept {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (yield_traits<Items, Ops>::disown(boost::hana::at_c<I>(t), w), ...);
        }
        (indices{});
    }

    template <bool Owned, class Take, class Item>
    static collected<Take> collect(Item& t, slots& s) {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            // Braced initialisation evaluates left to right, so the first failure is thrown.
            return collected<Take>{
                Take::template take<yield_traits<Items, Ops>, Owned>(boost::hana::at_c<I>(t), std::get<I>(s))...};
        }
        (indices{});
    }

    template <bool Owned, class Item>
    static result take(Item& t, slots& s) {
        return collect<Owned, take_plain>(t, s);
    }
};

/// Refuses a vector or map of `items` items that would take the yield `w` past what it can wait
/// for (`waiter::most`), before any of them is enrolled.
inline void check_item_count(waiter const& w, std::size_t items) {
    if (items > waiter::most - w.remaining) [[unlikely]] {
        throw usage_error("batch: a yield of more than 4,294,967,295 items; yield them in parts");
    }
}

// A std::vector: its items run in parallel; the result is a vector.
template <class Item, class Alloc, class Ops>
requires yieldable<Item, Ops>
struct yield_traits<std::vector<Item, Alloc>, Ops> {
    using inner = yield_traits<Item, Ops>;
    static constexpr bool valid = true;
    static constexpr bool structure = true;
    template <class Take>
    using collected = std::vector<typename Take::template result<inner>>;
    using result = collected<take_plain>;
    using slots = element_slots_t<inner>;

    template <bool Owned, class V>
    static void enroll(V& v, slots& s, waiter& w, context<Ops>& ctx) {
        check_item_count(w, v.size());
        size_slots<inner>(s, v.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            decltype(auto) si = element_slots<inner>(s, i);
            inner::template enroll<Owned>(v[i], si, w, ctx);
        }
    }

    /// True for a vector of generators: yielded by a generator, it runs each of them at once,
    /// in order, to its first suspension (`scheduler::start_now`), so that a run walks their
    /// frames once instead of twice (enrol, then resume).
    static constexpr bool starts_now = requires { &inner::start_now; };

    /// Starts every generator of `v` at once; true when the yield must wait. A generator that
    /// cannot start (moved-from, or started before) stops the walk: those already started
    /// cannot be undone, so they finish, and the yield then throws `refused`; the rest never run.
    template <bool Owned, class V>
    requires starts_now BATCH_HOT static bool start_now(V& v, waiter& w, context<Ops>& ctx,
                                                        std::exception_ptr& refused) {
        check_item_count(w, v.size() + 1);
        w.remaining = 1; // holds the yield while its items start: one that finishes there cannot resume it
        for (auto& g : v) {
            if (ctx.fatal()) [[unlikely]] { // the run is failing: what is not started stays so
                refused = ctx.fatal();
                break;
            }
            try {
                inner::start_now(g, w, ctx);
            } catch (...) {
                refused = std::current_exception();
                break;
            }
        }
        return --w.remaining != 0;
    }

    template <class V>
    static void disown(V& v, waiter const& w) noexcept {
        for (auto& item : v) inner::disown(item, w);
    }

    template <bool Owned, class Take, class V>
    static collected<Take> collect(V& v, slots& s) {
        collected<Take> r;
        r.reserve(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            decltype(auto) si = element_slots<inner>(s, i);
            r.push_back(Take::template take<inner, Owned>(v[i], si));
        }
        return r;
    }

    template <bool Owned, class V>
    static result take(V& v, slots& s) {
        return collect<Owned, take_plain>(v, s);
    }
};

/// Shared by std::map and std::unordered_map: items run in parallel, keyed results, in the map
/// `Maps::with<V>`.
template <class Item, class Ops, class Maps>
struct map_yield_traits {
    using inner = yield_traits<Item, Ops>;
    static constexpr bool valid = true;
    static constexpr bool structure = true;
    template <class Take>
    using collected = typename Maps::template with<typename Take::template result<inner>>;
    using result = collected<take_plain>;
    using slots = element_slots_t<inner>;

    template <bool Owned, class M>
    static void enroll(M& m, slots& s, waiter& w, context<Ops>& ctx) {
        check_item_count(w, m.size());
        size_slots<inner>(s, m.size());
        std::size_t i = 0;
        for (auto& [key, item] : m) {
            decltype(auto) si = element_slots<inner>(s, i++);
            inner::template enroll<Owned>(item, si, w, ctx);
        }
    }

    template <class M>
    static void disown(M& m, waiter const& w) noexcept {
        for (auto& [key, item] : m) inner::disown(item, w);
    }

    template <bool Owned, class Take, class M>
    static collected<Take> collect(M& m, slots& s) {
        collected<Take> r;
        if constexpr (requires { r.reserve(m.size()); }) r.reserve(m.size());
        std::size_t i = 0;
        for (auto& [key, item] : m) {
            decltype(auto) si = element_slots<inner>(s, i++);
            r.emplace_hint(r.end(), key, Take::template take<inner, Owned>(item, si));
        }
        return r;
    }

    template <bool Owned, class M>
    static result take(M& m, slots& s) {
        return collect<Owned, take_plain>(m, s);
    }
};

template <class Key, class Compare>
struct ordered_maps {
    template <class V>
    using with = std::map<Key, V, Compare>;
};

template <class Key, class Hash, class Equal>
struct hashed_maps {
    template <class V>
    using with = std::unordered_map<Key, V, Hash, Equal>;
};

template <class Key, class Item, class Compare, class Alloc, class Ops>
requires yieldable<Item, Ops>
struct yield_traits<std::map<Key, Item, Compare, Alloc>, Ops>
    : map_yield_traits<Item, Ops, ordered_maps<Key, Compare>> {
};

template <class Key, class Item, class Hash, class Equal, class Alloc, class Ops>
requires yieldable<Item, Ops>
struct yield_traits<std::unordered_map<Key, Item, Hash, Equal, Alloc>, Ops>
    : map_yield_traits<Item, Ops, hashed_maps<Key, Hash, Equal>> {
};

} // namespace batch::detail
