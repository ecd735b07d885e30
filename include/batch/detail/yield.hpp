#pragma once

#include <batch/detail/context.hpp>
#include <batch/detail/fwd.hpp>
#include <batch/detail/scheduler.hpp>
#include <batch/error.hpp>
#include <batch/operation.hpp>

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <map>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace batch::detail {

/// Slots for an item whose results live elsewhere (a generator keeps its own).
struct no_slots {};

/// How one kind of yieldable item is enrolled with the scheduler and how its result is
/// collected. `valid` is false for anything that cannot be yielded from a gen over Ops.
template <class Item, class Ops>
struct yield_traits {
    static constexpr bool valid = false;
};

template <class Item, class Ops>
concept yieldable = yield_traits<Item, Ops>::valid;

template <class Item, class Ops>
using yield_result_t = typename yield_traits<Item, Ops>::result;

template <class Item, class Ops>
using yield_slots_t = typename yield_traits<Item, Ops>::slots;

/// Collects the result of `item` as the type a container holds (`unit` for `void`).
template <class Traits, bool Owned, class Item, class Slots>
stored_t<typename Traits::result> take_stored(Item& item, Slots& slots) {
    if constexpr (std::is_void_v<typename Traits::result>) {
        Traits::template take<Owned>(item, slots);
        return unit{};
    } else {
        return Traits::template take<Owned>(item, slots);
    }
}

// Every yield_traits has:
// - enroll<Owned>(item, slots, w, ctx): checks the item, then hands each of its operations to
//   its bucket and each of its generators to the ready queue, adding one to w.remaining per
//   item; it appends only, so a failure part-way is undone by truncating (context::rollback);
// - disown(item, w): after such a failure, forgets the generators this yield had started;
// - take<Owned>(item, slots): the result, or the first failure in the order of the structure.
//   An owned generator's frame is freed as soon as its result is taken.

// An operation of the set: moved (or copied, when the user yielded an lvalue) into its bucket.
template <class Op, class... Ops>
requires(operations<Ops...>::template contains<Op>) struct yield_traits<Op, operations<Ops...>> {
    static constexpr bool valid = true;
    using result = result_of_t<Op>;
    using slots = slot<stored_t<result>>;

    template <bool Owned, class Item>
    static void enroll(Item& op, slots& s, waiter& w, context<operations<Ops...>>& ctx) {
        auto& b = ctx.template bucket_for<Op>();
        if constexpr (caches_v<Op>) {
            // Answered at once: nothing to wait for, no round.
            if (auto hit = b.cache.find(static_cast<Op const&>(op)); hit != b.cache.end()) {
                s.value.emplace(hit->second);
                ++b.stats.cache_hits;
                ++ctx.counters.cache_hits;
                return;
            }
        }
        if constexpr (Owned) {
            b.push(std::move(op), {&s, &w});
        } else {
            b.push(static_cast<Op const&>(op), {&s, &w});
        }
        ++w.remaining;
    }

    static void disown(Op const&, waiter const&) noexcept {}

    template <bool Owned>
    static result take(Op const&, slots& s) {
        if constexpr (std::is_void_v<result>) {
            s.take();
        } else {
            return s.take();
        }
    }
};

// A generator over the same set: started in this round; it keeps its result itself.
template <class U, class Ops>
struct yield_traits<gen<U, Ops>, Ops> {
    static constexpr bool valid = true;
    using result = U;
    using slots = no_slots;

    template <bool Owned>
    static void enroll(gen<U, Ops> const& g, slots&, waiter& w, context<Ops>& ctx) {
        auto const h = gen_access::handle(g);
        if (!h) {
            throw usage_error("batch: yielded or ran a moved-from batch::gen; a generator runs "
                              "once, so yield each generator object once");
        }
        auto& p = h.promise();
        if (p.started) {
            throw usage_error("batch: yielded or ran a batch::gen that was already started or "
                              "finished; a generator runs once, so yield each generator object once");
        }
        ctx.schedule(h);
        p.ctx = &ctx;
        p.parent = &w;
        p.started = true;
        ++ctx.counters.generators;
        ++ctx.live_generators;
        ++w.remaining;
    }

    static void disown(gen<U, Ops> const& g, waiter const& w) noexcept {
        if (auto const h = gen_access::handle(g); h && h.promise().parent == &w) {
            auto& p = h.promise();
            --p.ctx->counters.generators;
            --p.ctx->live_generators;
            p.ctx = nullptr;
            p.parent = nullptr;
            p.started = false;
        }
    }

    template <bool Owned, class G>
    static result take(G& g, slots&) {
        auto& p = gen_access::handle(g).promise();
        if constexpr (!Owned) {
            return p.take();
        } else if constexpr (std::is_void_v<result>) {
            p.take();
            g = G{};
        } else {
            result r = p.take();
            g = G{};
            return r;
        }
    }
};

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
    using result = std::tuple<stored_t<yield_result_t<Items, Ops>>...>;
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

    template <bool Owned, class Item>
    static result take(Item& t, slots& s) {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            // Braced initialisation evaluates left to right, so the first failure is thrown.
            return result{take_stored<yield_traits<Items, Ops>, Owned>(boost::hana::at_c<I>(t), std::get<I>(s))...};
        }
        (indices{});
    }
};

// A std::vector: its items run in parallel; the result is a vector.
template <class Item, class Alloc, class Ops>
requires yieldable<Item, Ops>
struct yield_traits<std::vector<Item, Alloc>, Ops> {
    using inner = yield_traits<Item, Ops>;
    static constexpr bool valid = true;
    using result = std::vector<stored_t<typename inner::result>>;
    using slots = element_slots_t<inner>;

    template <bool Owned, class V>
    static void enroll(V& v, slots& s, waiter& w, context<Ops>& ctx) {
        size_slots<inner>(s, v.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            decltype(auto) si = element_slots<inner>(s, i);
            inner::template enroll<Owned>(v[i], si, w, ctx);
        }
    }

    template <class V>
    static void disown(V& v, waiter const& w) noexcept {
        for (auto& item : v) inner::disown(item, w);
    }

    template <bool Owned, class V>
    static result take(V& v, slots& s) {
        result r;
        r.reserve(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            decltype(auto) si = element_slots<inner>(s, i);
            r.push_back(take_stored<inner, Owned>(v[i], si));
        }
        return r;
    }
};

/// Shared by std::map and std::unordered_map: items run in parallel, keyed results.
template <class Item, class Ops, class Result>
struct map_yield_traits {
    using inner = yield_traits<Item, Ops>;
    static constexpr bool valid = true;
    using result = Result;
    using slots = element_slots_t<inner>;

    template <bool Owned, class M>
    static void enroll(M& m, slots& s, waiter& w, context<Ops>& ctx) {
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

    template <bool Owned, class M>
    static result take(M& m, slots& s) {
        result r;
        if constexpr (requires { r.reserve(m.size()); }) r.reserve(m.size());
        std::size_t i = 0;
        for (auto& [key, item] : m) {
            decltype(auto) si = element_slots<inner>(s, i++);
            r.emplace_hint(r.end(), key, take_stored<inner, Owned>(item, si));
        }
        return r;
    }
};

template <class Key, class Item, class Compare, class Alloc, class Ops>
requires yieldable<Item, Ops>
struct yield_traits<std::map<Key, Item, Compare, Alloc>, Ops>
    : map_yield_traits<Item, Ops, std::map<Key, stored_t<yield_result_t<Item, Ops>>, Compare>> {
};

template <class Key, class Item, class Hash, class Equal, class Alloc, class Ops>
requires yieldable<Item, Ops>
struct yield_traits<std::unordered_map<Key, Item, Hash, Equal, Alloc>, Ops>
    : map_yield_traits<Item, Ops, std::unordered_map<Key, stored_t<yield_result_t<Item, Ops>>, Hash, Equal>> {
};

/// The awaiter behind `co_yield x`: enrolls every item of `x`, then resumes with the results.
/// `Owned` is false when the user yielded an lvalue: its generators are driven in place and
/// its operations are copied.
template <class Item, class Ops, bool Owned>
class yield_awaiter {
    using traits = yield_traits<std::remove_const_t<Item>, Ops>;
    using stored_item = std::conditional_t<Owned, Item, Item&>;

public:
    template <class X>
    yield_awaiter(context<Ops>* ctx, X&& item) : item_(std::forward<X>(item)), ctx_(ctx) {}
    yield_awaiter(yield_awaiter&&) = delete;

    static constexpr bool await_ready() noexcept { return false; }

    /// Enrolls everything; resumes at once when there was nothing to wait for. A failure
    /// (a misused generator, or no memory) undoes the enrolment and is thrown at the yield.
    bool await_suspend(std::coroutine_handle<> h) {
        waiter_.handle = h;
        auto const mark = ctx_->mark();
        try {
            traits::template enroll<Owned>(item_, slots_, waiter_, *ctx_);
        } catch (...) {
            ctx_->rollback(mark);
            traits::disown(item_, waiter_);
            waiter_.remaining = 0;
            throw;
        }
        return waiter_.remaining != 0;
    }

    typename traits::result await_resume() { return traits::template take<Owned>(item_, slots_); }

    /// True when every item has finished (used by the executor for the root of a run).
    [[nodiscard]] bool done() const noexcept { return waiter_.remaining == 0; }

private:
    stored_item item_;
    typename traits::slots slots_{};
    waiter waiter_{};
    context<Ops>* ctx_;
};

} // namespace batch::detail
