#define BOOST_TEST_MODULE failure_paths
// Every failure path is leak-free and leaves the executor usable. A mid-size program (fan-out
// through vectors and tuples, nested generators, a shared generator, memoised calls) is run
// once cleanly to count its yield points and batcher calls; then, for each yield point, the
// generator throws there (and, separately, yields a structure holding an empty generator), and
// for each batcher call the batcher throws. After each failed run: the run rethrew the injected
// failure, no coroutine frame is alive (the frame pool's count), and the next run on the same
// executor gives the clean result. Both executors, typed and dynamic, run the same program.
#include "worlds.hpp"

#include <batch/batch.hpp>
#include <batch/dynamic/executor.hpp>

#include <boost/hana/tuple.hpp>
#include <boost/test/unit_test.hpp>

#include <any>
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace {

namespace hana = boost::hana;

/// The failure injected at one yield point or batcher call, carrying its number.
struct injected {
    int at;
};

/// Where to fail in the current run: counts yield points, batcher calls and the steps of
/// asynchronous batches as they happen.
struct injector {
    enum class mode {
        none,
        throw_at_point,
        empty_gen_at_point,
        throw_in_call,
        throw_in_advance,
        throw_in_results,
        stall_call
    };
    mode how = mode::none;
    int target = 0;
    int points = 0;
    int structures = 0; ///< Yield points whose structure holds generators.
    int calls = 0;
    int advances = 0; ///< Steps of asynchronous batches.
    int results = 0;  ///< Asynchronous batches whose results were taken.
    int async_calls = 0;

    void reset(mode m, int t) { *this = {m, t}; }

    /// A yield point: throws there if it is the target.
    void point() {
        ++points;
        if (how == mode::throw_at_point && points == target) throw injected{target};
    }

    /// A yield point of a structure: true if it must hold an empty generator this time.
    bool poisoned_point() {
        ++points;
        ++structures;
        if (how == mode::throw_at_point && points == target) throw injected{target};
        return how == mode::empty_gen_at_point && structures == target;
    }

    /// A batcher call: throws if it is the target.
    void call() {
        ++calls;
        if (how == mode::throw_in_call && calls == target) throw injected{target};
    }

    /// A step of an asynchronous batch: throws if it is the target.
    void advance() {
        ++advances;
        if (how == mode::throw_in_advance && advances == target) throw injected{target};
    }

    /// The results of an asynchronous batch are taken: throws if it is the target.
    void take_results() {
        ++results;
        if (how == mode::throw_in_results && results == target) throw injected{target};
    }

    /// An asynchronous batch is submitted: true if it must never finish.
    bool stall() {
        ++async_calls;
        return how == mode::stall_call && async_calls == target;
    }
};

injector inject;

std::ptrdiff_t live_frames() { return batch::detail::frame_pool::local().live(); }

/// Operation `a(k)` gives `k + 1`, `b(v)` gives `2v`; every batcher call is a place to fail, and
/// so is every step of an asynchronous batch, the taking of its results, and its deadline.
struct injecting {
    using value_type = int;
    void on_advance() const { inject.advance(); }
    void on_results() const { inject.take_results(); }
    bool stalls() const { return inject.stall(); }
    std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(20); }

    std::vector<batch::outcome<int>> answer(int type, std::span<int const> keys, std::size_t) const {
        inject.call();
        std::vector<batch::outcome<int>> out;
        for (int k : keys) out.emplace_back(type == 0 ? k + 1 : 2 * k);
        return out;
    }
};

template <class W>
typename W::template gen<int> leaf(int k) {
    inject.point();
    int const a = co_yield W::a(k);
    inject.point();
    int const b = co_yield W::b(a);
    co_return a + b;
}

template <class W>
typename W::template gen<int> fan(int k) {
    std::vector<typename W::template gen<int>> kids;
    for (int i = 0; i < 3; ++i) kids.push_back(leaf<W>(k + i));
    if (inject.poisoned_point()) kids.emplace_back(); // an empty generator: a usage_error
    auto const values = co_yield std::move(kids);
    inject.point();
    auto [x, y] = co_yield hana::make_tuple(W::a(k), leaf<W>(k + 10));
    int sum = x + y;
    for (int v : values) sum += v;
    co_return sum;
}

template <class W>
using shared_int = decltype(batch::share(std::declval<typename W::template gen<int>>()));

template <class W, class Memo>
typename W::template gen<int> branch(shared_int<W> s, Memo const& memo, int k) {
    inject.point();
    int const v = co_yield s;
    inject.point();
    auto [m, f] = co_yield hana::make_tuple(memo(7), fan<W>(k));
    co_return v + m + f;
}

template <class W>
typename W::template gen<int> program(batch::memo_cache& cache) {
    auto const memo = batch::memoize(cache, [](int k) { return leaf<W>(k); });
    auto const s = batch::share(fan<W>(100));
    inject.point();
    auto [a, b, c] = co_yield hana::make_tuple(branch<W>(s, memo, 1), branch<W>(s, memo, 20), fan<W>(40));
    inject.point();
    int const d = co_yield memo(7); // remembered: no round
    co_return a + b + c + d;
}

/// Runs the program on `ex` with a fresh memo cache (a per-request cache, as a service keeps).
template <class W, class Executor>
int run_program(Executor& ex) {
    batch::memo_cache cache;
    return ex.run(program<W>(cache));
}

struct clean_run {
    int value, points, structures, calls, advances, results, async_calls;
};

template <class W, class Executor>
clean_run measure(Executor& ex) {
    inject.reset(injector::mode::none, 0);
    int const value = run_program<W>(ex);
    return {value, inject.points, inject.structures, inject.calls, inject.advances, inject.results, inject.async_calls};
}

// Injects failures at `count` places, one per run, each followed by a clean run on the same
// executor; `check` inspects the failed run's exception.
template <class W, class Check>
void each_failure(injector::mode how, int count, Check check) {
    W w;
    auto& ex = w.ex;
    auto const clean = measure<W>(ex);
    auto const before = live_frames();
    for (int target = 1; target <= count; ++target) {
        BOOST_TEST_CONTEXT("failure " << target << " of " << count) {
            inject.reset(how, target);
            bool threw = false;
            try {
                run_program<W>(ex);
            } catch (...) {
                threw = true;
                check(std::current_exception(), target);
            }
            BOOST_TEST(threw);
            BOOST_TEST(live_frames() == before);
            auto const again = measure<W>(ex);
            BOOST_TEST(again.value == clean.value);
            BOOST_TEST(again.calls == clean.calls);
            BOOST_TEST(live_frames() == before);
        }
    }
}

void expect_injected(std::exception_ptr const& e, int target) {
    try {
        std::rethrow_exception(e);
    } catch (injected const& i) {
        BOOST_TEST(i.at == target);
    } catch (...) {
        BOOST_ERROR("another exception than the injected one");
    }
}

using worlds = test::all_worlds<injecting>;
using async_world = test::async_world<injecting>;

} // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(the_clean_run_is_what_the_program_says, W, worlds) {
    W w;
    auto& ex = w.ex;
    auto const clean = measure<W>(ex);
    // leaf(k) = (k + 1) * 3; fan(k) = leaf(k) + leaf(k+1) + leaf(k+2) + (k + 1) + leaf(k + 10).
    auto leaf_v = [](int k) { return (k + 1) * 3; };
    auto fan_v = [&](int k) { return leaf_v(k) + leaf_v(k + 1) + leaf_v(k + 2) + (k + 1) + leaf_v(k + 10); };
    int const shared_v = fan_v(100);
    int const expected = (shared_v + leaf_v(7) + fan_v(1)) + (shared_v + leaf_v(7) + fan_v(20)) + fan_v(40) + leaf_v(7);
    BOOST_TEST(clean.value == expected);
    BOOST_TEST(clean.points > 40);
    // leaf takes 2 rounds, fan 4; a branch waits for the shared fan, then a fan: 8.
    BOOST_TEST(ex.stats().rounds == 8u);
    BOOST_TEST(clean.calls == 8); // a round calls one batcher: get or twice, never both
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_throw_at_any_yield_point_is_rethrown_and_leaks_nothing, W, worlds) {
    W w;
    auto& ex = w.ex;
    int const points = measure<W>(ex).points;
    each_failure<W>(injector::mode::throw_at_point, points, expect_injected);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(an_empty_generator_in_a_yielded_vector_is_a_usage_error_and_leaks_nothing, W, worlds) {
    W w;
    auto& ex = w.ex;
    int const structures = measure<W>(ex).structures;
    BOOST_TEST(structures == 4); // the fans: the shared one, one per branch, and the root's
    each_failure<W>(injector::mode::empty_gen_at_point, structures, [](std::exception_ptr const& e, int) {
        try {
            std::rethrow_exception(e);
        } catch (batch::usage_error const&) {
        } catch (...) {
            BOOST_ERROR("another exception than batch::usage_error");
        }
    });
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_failure_of_any_batcher_call_is_rethrown_and_leaks_nothing, W, worlds) {
    W w;
    auto& ex = w.ex;
    int const calls = measure<W>(ex).calls;
    each_failure<W>(injector::mode::throw_in_call, calls, expect_injected);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(generators_destroyed_unstarted_free_their_frames, W, worlds) {
    inject.reset(injector::mode::none, 0);
    W w; // the dynamic world's operations need its batchers
    auto const before = live_frames();
    {
        batch::memo_cache cache;
        auto g = program<W>(cache);
        auto tuple = hana::make_tuple(leaf<W>(1), fan<W>(2), W::a(3));
        std::vector<typename W::template gen<int>> many;
        for (int i = 0; i < 100; ++i) many.push_back(fan<W>(i));
        BOOST_TEST(live_frames() > before);
    }
    BOOST_TEST(live_frames() == before);
    BOOST_TEST(inject.points == 0); // nothing ran
}

BOOST_AUTO_TEST_CASE_TEMPLATE(shared_and_memoised_generators_that_never_ran_free_their_frames, W, worlds) {
    inject.reset(injector::mode::none, 0);
    auto const before = live_frames();
    {
        auto s = batch::share(fan<W>(1));
        auto copies = std::vector(5, s);
        batch::memo_cache cache;
        auto memo = batch::memoize(cache, [](int k) { return fan<W>(k); });
        for (int k = 0; k < 10; ++k) memo(k);
        BOOST_TEST(cache.size() == 10u);
        BOOST_TEST(live_frames() > before);
    }
    BOOST_TEST(live_frames() == before);
    BOOST_TEST(inject.points == 0);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(an_executor_destroyed_between_runs_leaves_nothing_alive, W, worlds) {
    auto const before = live_frames();
    int clean_value = 0;
    {
        W w;
        auto& ex = w.ex;
        clean_value = measure<W>(ex).value;
        inject.reset(injector::mode::throw_in_call, 2);
        BOOST_CHECK_THROW(run_program<W>(ex), injected);
    }
    BOOST_TEST(live_frames() == before);
    {
        W w2; // a new executor after the old one is gone
        auto& ex = w2.ex;
        BOOST_TEST(measure<W>(ex).value == clean_value);
    }
    BOOST_TEST(live_frames() == before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_shared_generator_stuck_in_a_cycle_is_torn_down, W, worlds) {
    inject.reset(injector::mode::none, 0);
    auto const before = live_frames();
    W w;
    auto& ex = w.ex;
    {
        batch::memo_cache cache;
        // f(k) yields f(k): a memoised generator that waits for itself.
        std::function<shared_int<W>(int)> f;
        auto body = [&f](int k) -> typename W::template gen<int> {
            int const v = co_yield f(k);
            co_return v;
        };
        f = batch::memoize(cache, body);
        BOOST_CHECK_THROW(ex.run(f(1)), batch::cycle_error);
        BOOST_TEST(live_frames() == before);
        BOOST_CHECK_THROW(ex.run(f(1)), batch::cycle_error); // the outcome it keeps
    }
    BOOST_TEST(live_frames() == before);
    BOOST_TEST(measure<W>(ex).value > 0); // and the executor still works
    BOOST_TEST(live_frames() == before);
}

template <class W>
typename W::template gen<int> chain_into(int depth, shared_int<W> const& stuck) {
    if (depth == 0) {
        int const v = co_yield stuck;
        co_return v;
    }
    int const v = co_yield chain_into<W>(depth - 1, stuck);
    co_return v + 1;
}

// The teardown of a run that stops early recurses through the frames (see the README's
// limits): a chain of 5,000 generators waiting on a cycle is torn down without trouble, also
// under the sanitizers' larger stack frames.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_deep_chain_waiting_on_a_cycle_is_torn_down, W, worlds) {
    auto const before = live_frames();
    W w;
    auto& ex = w.ex;
    {
        batch::memo_cache cache;
        std::function<shared_int<W>(int)> f;
        f = batch::memoize(cache, [&f](int k) -> typename W::template gen<int> {
            int const v = co_yield f(k);
            co_return v;
        });
        BOOST_CHECK_THROW(ex.run(chain_into<W>(5000, f(0))), batch::cycle_error);
        BOOST_TEST(live_frames() == before);
    }
    BOOST_TEST(live_frames() == before);
}

BOOST_AUTO_TEST_CASE(a_failure_at_any_step_of_an_asynchronous_batch_is_rethrown_and_leaks_nothing) {
    async_world w;
    auto const clean = measure<async_world>(w.ex);
    BOOST_TEST(clean.advances == clean.async_calls * async_world::steps);
    BOOST_TEST(clean.async_calls > 0);
    each_failure<async_world>(injector::mode::throw_in_advance, clean.advances, expect_injected);
}

BOOST_AUTO_TEST_CASE(a_failure_taking_the_results_of_an_asynchronous_batch_is_rethrown_and_leaks_nothing) {
    async_world w;
    auto const clean = measure<async_world>(w.ex);
    BOOST_TEST(clean.results == clean.async_calls);
    each_failure<async_world>(injector::mode::throw_in_results, clean.results, expect_injected);
}

BOOST_AUTO_TEST_CASE(an_asynchronous_batch_past_its_deadline_fails_with_timeout_error_and_leaks_nothing) {
    async_world w;
    auto const clean = measure<async_world>(w.ex);
    each_failure<async_world>(injector::mode::stall_call, clean.async_calls, [](std::exception_ptr const& e, int) {
        try {
            std::rethrow_exception(e);
        } catch (batch::timeout_error const&) {
        } catch (...) {
            BOOST_ERROR("another exception than batch::timeout_error");
        }
    });
}
