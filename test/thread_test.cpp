#define BOOST_TEST_MODULE threads
// Separate executors share no mutable state: eight threads, each with its own executors and
// memo caches, run programs at once (run under ThreadSanitizer in CI). And the misuses the
// library detects: a shared generator yielded from a second thread while the first runs it, or
// one made for one thread yielded on another, and a memo_cache entered from a second thread
// while the first is inside it; one executor run from two threads at once; a moved-from
// executor, and a move during a run.
#include "model/check.hpp"
#include "model/source.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

using namespace test;

namespace {

gen<int> leaf(int k) {
    int v = co_yield get{k};
    co_return v;
}

gen<std::int64_t> tree(int depth, int k) {
    if (depth == 0) {
        int v = co_yield leaf(k);
        co_return v;
    }
    std::vector<gen<std::int64_t>> kids;
    for (int i = 0; i < 3; ++i) kids.push_back(tree(depth - 1, k * 3 + i));
    auto [vs, x] = co_yield hana::make_tuple(std::move(kids), identity{k});
    co_return vs[0] + vs[1] + vs[2] + x;
}

std::int64_t expected_tree(int depth, int k) {
    if (depth == 0) return 2 * k;
    return expected_tree(depth - 1, k * 3) + expected_tree(depth - 1, k * 3 + 1) + expected_tree(depth - 1, k * 3 + 2)
           + k;
}

} // namespace

BOOST_AUTO_TEST_CASE(eight_threads_with_their_own_executors_and_caches) {
    constexpr int threads = 8;
    std::atomic<int> failures{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([t, &failures] {
            std::mt19937 random(static_cast<unsigned>(t));
            auto ex = make_test_executor();
            batch::memo_cache cache;
            int runs = 0;
            auto square = batch::memoize(cache, [&runs](int n) -> gen<std::int64_t> {
                ++runs;
                int v = co_yield get{n};
                co_return std::int64_t{v} * v;
            });
            for (int round = 0; round < 200; ++round) {
                int const depth = static_cast<int>(random() % 6);
                int const k = static_cast<int>(random() % 100);
                if (ex.run(tree(depth, k)) != expected_tree(depth, k)) ++failures;
                auto [a, b] = ex.run(hana::make_tuple(square(k % 10), square((k + 1) % 10)));
                if (a != 4 * (k % 10) * (k % 10) || b != 4 * ((k + 1) % 10) * ((k + 1) % 10)) ++failures;
            }
            if (runs > 10) ++failures; // one body per key, per thread
        });
    }
    for (auto& th : pool) th.join();
    BOOST_TEST(failures.load() == 0);
}

BOOST_AUTO_TEST_CASE(eight_threads_run_random_programs_through_both_executors) {
    // Each program gets its own executors, shared generators and memo cache (see model/).
    constexpr unsigned threads = 8, programs = 250;
    std::vector<std::string> errors(threads);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([t, &errors] {
            for (unsigned seed = t * programs + 1; seed <= (t + 1) * programs && errors[t].empty(); ++seed) {
                model::random_source src(seed);
                if (auto v = model::check(model::make_program(src)); !v.mismatch.empty()) {
                    errors[t] = "seed " + std::to_string(seed) + ": " + v.mismatch;
                }
            }
        });
    }
    for (auto& th : pool) th.join();
    for (auto const& e : errors) BOOST_TEST(e.empty(), e);
}

namespace {

/// Blocks in its batcher until told to go on: a run that stays in the middle of a round.
struct gate {
    std::promise<void> entered, go_on;
};

/// Answers `key * 2`, calling `during()` first.
struct hooked_get_batcher {
    std::function<void()> during;
    std::vector<int> operator()(std::span<get const> in) const {
        if (during) during();
        std::vector<int> out;
        for (auto const& op : in) out.push_back(op.key * 2);
        return out;
    }
};

struct gated_get_batcher {
    gate* g;
    std::vector<int> operator()(std::span<get const> in) const {
        g->entered.set_value();
        g->go_on.get_future().wait();
        std::vector<int> out;
        for (auto const& op : in) out.push_back(op.key * 2);
        return out;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(a_one_thread_shared_generator_yielded_on_another_thread_is_refused) {
    auto const shared = batch::share<batch::threads::one>(leaf(21));
    std::string refused;
    std::thread other([&shared, &refused] {
        auto ex = make_test_executor();
        try {
            ex.run(shared);
        } catch (batch::usage_error const& e) {
            refused = e.what();
        }
    });
    other.join();
    BOOST_TEST(refused.find("another thread than the one that shared it") != std::string::npos, refused);
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(shared) == 42); // not started by the refused yield: it runs here
    BOOST_TEST(ex.stats().batches == 1u);
}

BOOST_AUTO_TEST_CASE(a_shared_generator_yielded_from_another_thread_while_it_runs_is_refused) {
    gate g;
    auto shared = batch::share(leaf(21));
    std::promise<void> first_done;
    int first_result = 0;
    std::thread first([&] {
        auto ex = batch::make_executor<ops>(gated_get_batcher{&g}, identity_batcher{}, put_batcher{});
        first_result = ex.run(shared);
        first_done.set_value();
    });
    g.entered.get_future().wait(); // the first thread's run is driving the shared generator
    auto ex = make_test_executor();
    BOOST_CHECK_THROW(ex.run(shared), batch::usage_error);
    BOOST_CHECK_THROW(ex.run(hana::make_tuple(leaf(1), shared)), batch::usage_error);
    g.go_on.set_value();
    first_done.get_future().wait();
    BOOST_TEST(ex.run(shared) == 42); // finished: its kept result, on this thread too
    BOOST_TEST(ex.stats().batches == 0u);
    first.join();
    BOOST_TEST(first_result == 42);
}

BOOST_AUTO_TEST_CASE(a_memo_cache_entered_from_two_threads_at_once_is_refused) {
    batch::memo_cache cache;
    std::promise<void> inside, go_on;
    auto slow = batch::memoize(cache, [&](int k) {
        inside.set_value(); // the first thread is inside the cache
        go_on.get_future().wait();
        return leaf(k);
    });
    auto fast = batch::memoize(cache, [](int k) { return leaf(k); });
    std::thread first([&] { (void)slow(1); });
    inside.get_future().wait();
    BOOST_CHECK_THROW((void)fast(2), batch::usage_error);
    BOOST_CHECK_THROW((void)cache.size(), batch::usage_error);
    BOOST_CHECK_THROW(cache.clear(), batch::usage_error);
    go_on.set_value();
    first.join();
    // Handed over: this thread may use it now, and sees what the first thread put in.
    BOOST_TEST(cache.size() == 1u);
    auto ex = make_test_executor();
    auto [one, two] = ex.run(hana::make_tuple(slow(1), fast(2)));
    BOOST_TEST(one == 2);
    BOOST_TEST(two == 4);
    BOOST_TEST(cache.size() == 2u);
}

namespace {

/// True when `f()` throws a `batch::usage_error` whose message holds `words`.
template <class F>
bool refused_with(F&& f, std::string const& words) {
    try {
        f();
    } catch (batch::usage_error const& e) {
        return std::string(e.what()).find(words) != std::string::npos;
    }
    return false;
}

} // namespace

BOOST_AUTO_TEST_CASE(one_executor_run_from_two_threads_at_once_is_refused_and_says_so) {
    gate g;
    auto ex = batch::make_executor<ops>(gated_get_batcher{&g}, identity_batcher{}, put_batcher{});
    int first_result = 0;
    std::thread first([&] { first_result = ex.run(leaf(21)); });
    g.entered.get_future().wait(); // the first thread is inside its run
    BOOST_TEST(refused_with([&] { (void)ex.run(leaf(1)); }, "used from two threads at once"));
    g.go_on.set_value();
    first.join();
    BOOST_TEST(first_result == 42);
    // Handed over once the first run has ended: this thread may run it now.
    gate again;
    again.go_on.set_value();
    ex.batcher_of<get>().g = &again;
    BOOST_TEST(ex.run(leaf(5)) == 10);
}

BOOST_AUTO_TEST_CASE(a_moved_from_executor_and_a_move_during_a_run_are_refused) {
    auto ex = batch::make_executor<ops>(hooked_get_batcher{}, identity_batcher{}, put_batcher{});
    BOOST_TEST(ex.run(leaf(1)) == 2);
    auto moved = std::move(ex); // between runs: fine
    BOOST_TEST(moved.run(leaf(2)) == 4);
    BOOST_TEST(refused_with([&] { (void)ex.run(leaf(3)); }, "moved-from executor"));

    // During a run (here, from its batcher): the run's generators point at the executor.
    bool refused = false;
    moved.batcher_of<get>().during = [&] {
        refused = refused_with([&] { auto stolen = std::move(moved); }, "moved while a run");
    };
    BOOST_TEST(moved.run(leaf(4)) == 8);
    BOOST_TEST(refused);
    moved.batcher_of<get>().during = nullptr;
    BOOST_TEST(moved.run(leaf(5)) == 10); // untouched by the refused move
}
