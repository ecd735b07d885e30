#define BOOST_TEST_MODULE threads
// Separate executors share no mutable state: eight threads, each with its own executors and
// memo caches, run programs at once (run under ThreadSanitizer in CI).
#include "model.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdint>
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
    // Each program gets its own executors, shared generators and memo cache (see model.hpp).
    constexpr unsigned threads = 8, programs = 250;
    std::vector<std::string> errors(threads);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([t, &errors] {
            for (unsigned seed = t * programs + 1; seed <= (t + 1) * programs && errors[t].empty(); ++seed) {
                model::random_source src(seed);
                if (auto why = model::check(model::make_program(src)); !why.empty()) {
                    errors[t] = "seed " + std::to_string(seed) + ": " + why;
                }
            }
        });
    }
    for (auto& th : pool) th.join();
    for (auto const& e : errors) BOOST_TEST(e.empty(), e);
}
