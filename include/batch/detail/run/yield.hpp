#pragma once

#include <batch/detail/base/fwd.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/detail/run/context.hpp>
#include <batch/detail/run/scheduler.hpp>
#include <batch/error.hpp>
#include <batch/operation.hpp>
#include <batch/operation_set.hpp>
#include <batch/outcome.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <type_traits>
#include <utility>

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

/// True for the traits of a structure (a tuple, vector or map, or a `batch::settled`): it
/// collects its items' results with `collect<Owned, Take>`, each as `Take` says, into a
/// `collected<Take>`.
template <class Traits>
concept structure_traits = Traits::structure;

/// Takes an item's result as a container holds it (`unit` for `void`), throwing its failure.
struct take_plain {
    template <class Traits>
    using result = stored_t<typename Traits::result>;

    template <class Traits, bool Owned, class Item, class Slots>
    static result<Traits> take(Item& item, Slots& slots) {
        return take_stored<Traits, Owned>(item, slots);
    }
};

struct take_settled;

/// What `take_settled` gives for an item: a `batch::outcome` for a leaf (an operation or a
/// generator), the same structure of outcomes for a structure.
template <class Traits>
struct settled_result {
    using type = outcome<typename Traits::result>;
};
template <structure_traits Traits>
struct settled_result<Traits> {
    using type = typename Traits::template collected<take_settled>;
};

/// Takes an item's result with an outcome in place of each leaf: a leaf's failure becomes its
/// outcome, except a `batch::usage_error` (a misuse, not a failure of the work), which is thrown.
struct take_settled {
    template <class Traits>
    using result = typename settled_result<Traits>::type;

    template <class Traits, bool Owned, class Item, class Slots>
    static result<Traits> take(Item& item, Slots& slots) {
        if constexpr (structure_traits<Traits>) {
            return Traits::template collect<Owned, take_settled>(item, slots);
        } else {
            using leaf = typename Traits::result;
            try {
                if constexpr (std::is_void_v<leaf>) {
                    Traits::template take<Owned>(item, slots);
                    return outcome<void>{};
                } else {
                    return outcome<leaf>(Traits::template take<Owned>(item, slots));
                }
            } catch (usage_error const&) {
                throw;
            } catch (...) {
                return outcome<leaf>(std::current_exception());
            }
        }
    }
};

// Every yield_traits has:
// - enroll<Owned>(item, slots, w, ctx): checks the item, then hands each of its operations to
//   its bucket and each of its generators to the ready queue, adding one to w.remaining per
//   item; it appends only, so a failure part-way is undone by truncating (context::rollback);
// - disown(item, w): after such a failure, forgets the generators this yield had started;
// - take<Owned>(item, slots): the result, or the first failure in the order of the structure.
//   An owned generator's frame is freed as soon as its result is taken.
// A leaf whose enrol either succeeds or throws having changed nothing (no append, no start,
// `w.remaining` untouched) says so with `all_or_nothing = true`: its yield needs no undo.
// An operation also has `operation = true` and `enroll_alone<Owned>(op, cell, w, ctx)`: the
// enrolment of a yield of it alone (`operation_awaiter`), its state kept in `w`.
// A generator also has `start_now(g, w, ctx)`: enrols it and runs it to its first suspension.
// A structure that runs its generators so (`starts_now = true`) cannot undo them; see
// `yield_traits<std::vector>::start_now` for what it does instead.
// A structure also has `structure = true`, `collected<Take>` and `collect<Owned, Take>` (its
// result, taking each item as `Take` says); its `take` is `collect` with `take_plain`.

/// The result an operation of the set gives; for a type that `batch::operations` has reported
/// as unusable, a stand-in, so that one mistake gives one error.
template <class Op>
struct declared_result {
    using type = anything;
};
template <class Op>
requires usable_operation<Op>
struct declared_result<Op> {
    using type = result_of_t<Op>;
};

// An operation of the set: moved (or copied, when the user yielded an lvalue) into its bucket.
template <class Op, class... Ops>
requires(operations<Ops...>::template contains<Op>) struct yield_traits<Op, operations<Ops...>> {
    static constexpr bool valid = true;
    static constexpr bool all_or_nothing = true;
    static constexpr bool operation = true;
    using result = typename declared_result<Op>::type;
    using slots = slot<stored_t<result>>;

    template <bool Owned, class Item>
    BATCH_HOT static void enroll(Item& op, slots& s, waiter& w, context<operations<Ops...>>& ctx) {
        enroll_at<Owned>(op, target<stored_t<result>>(s, w), ctx);
    }

    /// Enrolls `op` for a yield of it alone: its result goes to `c`, the state of `c` to `w`.
    template <bool Owned, class Item>
    BATCH_HOT static void enroll_alone(Item& op, slot_cell<stored_t<result>>& c, lone_waiter& w,
                                       context<operations<Ops...>>& ctx) {
        enroll_at<Owned>(op, target<stored_t<result>>(c, w), ctx);
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

private:
    template <bool Owned, class Item>
    BATCH_HOT static void enroll_at(Item& op, target<stored_t<result>> const& t, context<operations<Ops...>>& ctx) {
        if constexpr (usable_operation<Op>) {
            auto& b = ctx.template bucket_for<Op>();
            if constexpr (decltype(b.cache)::enabled) {
                // Answered at once: nothing to wait for, no round.
                if (b.cache.answer(static_cast<Op const&>(op), t, ctx, b.stats)) return;
            }
            if constexpr (Owned) {
                b.pending.push(std::move(op), t);
            } else {
                b.pending.push(static_cast<Op const&>(op), t);
            }
            ctx.template added<Op>();
            ++t.owner().remaining;
        }
    }
};

// A generator over the same set: started in this round; it keeps its result itself.
template <class U, class Ops>
struct yield_traits<gen<U, Ops>, Ops> {
    static constexpr bool valid = true;
    static constexpr bool all_or_nothing = true;
    using result = U;
    using slots = no_slots;

    template <bool Owned>
    BATCH_HOT static void enroll(gen<U, Ops> const& g, slots&, waiter& w, context<Ops>& ctx) {
        auto const h = startable(g);
        ctx.schedule(h);
        h.promise().start(ctx, &w);
        ++w.remaining;
    }

    /// Enrolls `g` and runs it at once to its first suspension (`scheduler::start_now`); if it
    /// finishes there, it has already counted itself done in `w`.
    BATCH_HOT static void start_now(gen<U, Ops> const& g, waiter& w, context<Ops>& ctx) {
        auto const h = startable(g);
        h.promise().start(ctx, &w);
        ++w.remaining;
        ctx.start_now(h);
    }

    static void disown(gen<U, Ops> const& g, waiter const& w) noexcept {
        if (auto const h = gen_access::handle(g); h && h.promise().parent() == &w) h.promise().unstart();
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

private:
    // The handle of `g`, which must not have run: yielding a generator twice is refused.
    static auto startable(gen<U, Ops> const& g) {
        auto const h = gen_access::handle(g);
        if (!h) {
            throw usage_error("batch: yielded or ran a moved-from batch::gen; a generator runs "
                              "once, so yield each generator object once");
        }
        if (h.promise().started()) {
            throw usage_error("batch: yielded or ran a batch::gen that was already started or "
                              "finished; a generator runs once, so yield each generator object once");
        }
        return h;
    }
};

/// True for the traits of an item whose generators a yield runs at once as it enrols them
/// (`start_now`: a vector of generators).
template <class Traits>
concept starting_now = requires {
    requires Traits::starts_now;
};

/// What such a yield keeps: an item it refused after starting the ones before it, thrown once
/// they have finished.
template <class Traits>
using refusal_t = std::conditional_t<starting_now<Traits>, std::exception_ptr, no_slots>;

/// The awaiter behind `co_yield x`: enrolls every item of `x`, then resumes with the results.
/// `Owned` is false when the user yielded an lvalue: its generators are driven in place and
/// its operations are copied.
template <class Item, class Ops, bool Owned>
class yield_awaiter {
    using traits = yield_traits<std::remove_const_t<Item>, Ops>;
    using stored_item = std::conditional_t<Owned, Item, Item&>;

public:
    template <class X>
    explicit yield_awaiter(X&& item) : item_(std::forward<X>(item)) {}
    yield_awaiter(yield_awaiter&&) = delete;

    static constexpr bool await_ready() noexcept { return false; }

    /// Enrolls everything in the run of the yielding generator (running a vector's generators at
    /// once, unless starts nest too deep); resumes at once when there was nothing to wait for.
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
        waiter_.handle = h;
        auto& ctx = h.promise().run_context();
        if constexpr (starting_now<traits>) {
            if (ctx.may_start_now()) return traits::template start_now<Owned>(item_, waiter_, ctx, refused_);
        }
        return enroll(ctx);
    }

    /// Enrolls everything in the run `ctx` (for the root of a run, with no generator to
    /// resume): false when there was nothing to wait for. A failure (a misused generator, or no
    /// memory) undoes the enrolment and is thrown.
    BATCH_STEP bool enroll(context<Ops>& ctx) {
        if constexpr (requires { requires traits::all_or_nothing; }) {
            traits::template enroll<Owned>(item_, slots_, waiter_, ctx);
        } else {
            auto const mark = ctx.mark();
            try {
                traits::template enroll<Owned>(item_, slots_, waiter_, ctx);
            } catch (...) {
                ctx.rollback(mark);
                traits::disown(item_, waiter_);
                waiter_.remaining = 0;
                throw;
            }
        }
        return waiter_.remaining != 0;
    }

    typename traits::result await_resume() {
        if constexpr (starting_now<traits>) {
            if (refused_) [[unlikely]]
                rethrow(refused_);
        }
        return traits::template take<Owned>(item_, slots_);
    }

    /// True when every item has finished (used by the executor for the root of a run).
    [[nodiscard]] bool done() const noexcept { return waiter_.remaining == 0; }

private:
    [[no_unique_address]] waiter waiter_{};
    stored_item item_;
    typename traits::slots slots_{};
    [[no_unique_address]] refusal_t<traits> refused_{};
};

/// True for the traits of an operation, whose yield alone is an `operation_awaiter`.
template <class Traits>
concept operation_traits = requires {
    requires Traits::operation;
};

/// The awaiter behind `co_yield op` for one operation of the set: enrolls `op` as it is made,
/// so that it keeps no copy of it, and keeps its result in a `slot_cell` whose state is in its
/// `lone_waiter`: 24 bytes of the generator's frame for an `int` result.
template <class Op, class Ops, bool Owned>
class operation_awaiter {
    using traits = yield_traits<std::remove_const_t<Op>, Ops>;
    using result = typename traits::result;

public:
    template <class X>
    BATCH_HOT operation_awaiter(X&& op, context<Ops>& ctx) {
        traits::template enroll_alone<Owned>(op, cell_, waiter_, ctx);
    }
    operation_awaiter(operation_awaiter&&) = delete;
    ~operation_awaiter() { cell_.clear(waiter_.state); }

    /// Ready when nothing is left to wait for (the cache answered).
    [[nodiscard]] bool await_ready() const noexcept { return waiter_.remaining == 0; }
    void await_suspend(std::coroutine_handle<> h) noexcept { waiter_.handle = h; }

    result await_resume() {
        if constexpr (std::is_void_v<result>) {
            cell_.take(waiter_.state);
        } else {
            return cell_.take(waiter_.state);
        }
    }

private:
    lone_waiter waiter_;
    slot_cell<stored_t<result>> cell_;
};

} // namespace batch::detail
