#define BOOST_TEST_MODULE both_executors
// Scenario tests written once and run against the typed executor and the dynamic baseline.
#include "support.hpp"
#include "worlds.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace test;
using worlds = both_worlds<doubling>;

namespace {

template <class W>
typename W::template gen<int> child(int i) {
    int v = co_yield W::a(i);
    co_return v + 1;
}

template <class W>
typename W::template gen<int> fib(int n) {
    if (n <= 1) {
        int one = co_yield W::b(1);
        co_return one;
    }
    auto [i, j] = co_yield hana::make_tuple(W::b(n - 1), W::b(n - 2));
    auto [a, b] = co_yield hana::make_tuple(fib<W>(i), fib<W>(j));
    co_return a + b;
}

template <class W>
typename W::template gen<long> chain(int steps) {
    long total = 0;
    for (int i = 0; i < steps; ++i) {
        int v = co_yield W::a(i); // `total += co_yield ...` trips g++ 12 inside a template
        total += v;
    }
    co_return total;
}

template <class W>
typename W::template gen<int> nested(int depth) {
    if (depth == 0) co_return 0;
    int below = co_yield nested<W>(depth - 1);
    co_return below + 1;
}

// The same chain, each generator yielding a vector of one: vectors start their generators at
// once, and that must not nest without bound either.
template <class W>
typename W::template gen<int> nested_in_vectors(int depth) {
    if (depth == 0) co_return co_yield W::a(0);
    std::vector<typename W::template gen<int>> below;
    below.push_back(nested_in_vectors<W>(depth - 1));
    auto r = co_yield std::move(below);
    co_return r[0] + 1;
}

template <class W>
typename W::template gen<int> fails_after_a_get(std::string what) {
    frame_probe probe;
    co_yield W::a(1);
    throw boom(what);
}

template <class W>
typename W::template gen<int> long_running(int rounds, int& finished) {
    frame_probe probe;
    int total = 0;
    for (int i = 0; i < rounds; ++i) {
        int v = co_yield W::a(i);
        total += v;
    }
    ++finished;
    co_return total;
}

template <class W>
typename W::template gen<std::string> catches(int& finished, int& seen) {
    try {
        co_yield hana::make_tuple(fails_after_a_get<W>("sibling"), long_running<W>(5, finished));
    } catch (boom const& e) {
        seen = finished;
        co_return std::string(e.what());
    }
    co_return std::string("none");
}

} // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(a_single_operation_and_a_fanout_make_one_batch, W, worlds) {
    W w;
    BOOST_TEST(w.ex.run(child<W>(20)) == 41);
    BOOST_TEST(w.ex.stats().rounds == 1u);
    std::vector<typename W::template gen<int>> gens;
    for (int i = 0; i < 1000; ++i) gens.push_back(child<W>(i));
    auto out = w.ex.run(std::move(gens));
    BOOST_REQUIRE(out.size() == 1000u);
    BOOST_TEST(out[999] == 1999);
    BOOST_TEST(w.ex.stats().rounds == 1u);
    BOOST_TEST(w.ex.stats().batches == 1u);
    BOOST_TEST(w.ex.stats().largest_batch == 1000u);
    BOOST_TEST(w.ex.stats().generators == 1000u);
    BOOST_TEST(w.calls(0) == 2u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(operations_in_a_vector_and_an_empty_yield, W, worlds) {
    W w;
    std::vector<typename W::a_op> ops;
    for (int i = 0; i < 5; ++i) ops.push_back(W::a(i));
    auto out = w.ex.run(std::move(ops));
    BOOST_TEST((out == std::vector<int>{0, 2, 4, 6, 8}));
    BOOST_TEST(w.ex.stats().batches == 1u);
    std::vector<typename W::template gen<int>> none;
    BOOST_TEST(w.ex.run(std::move(none)).empty());
    BOOST_TEST(w.ex.stats().rounds == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(fibonacci_with_operations_at_every_node, W, worlds) {
    W w;
    BOOST_TEST(w.ex.run(fib<W>(18)) == 4181);
    BOOST_TEST(w.ex.stats().rounds == 18u);
    BOOST_TEST(w.ex.stats().batches == 18u);
    BOOST_TEST(w.ex.stats().operations == 12541u);
    BOOST_TEST(w.ex.stats().generators == 8361u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_sequential_chain_takes_a_round_per_step, W, worlds) {
    W w;
    BOOST_TEST(w.ex.run(chain<W>(1000)) == 999L * 1000);
    BOOST_TEST(w.ex.stats().rounds == 1000u);
    BOOST_TEST(w.calls(0) == 1000u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_deep_chain_of_generators_does_not_grow_the_stack, W, worlds) {
    W w;
    BOOST_TEST(w.ex.run(nested<W>(200'000)) == 200'000);
    BOOST_TEST(w.ex.run(nested_in_vectors<W>(200'000)) == 200'000);
    BOOST_TEST(w.ex.stats().rounds == 1u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(errors_reach_the_parent_after_the_siblings_finish, W, worlds) {
    W w;
    int finished = 0;
    int seen = -1;
    BOOST_TEST(w.ex.run(catches<W>(finished, seen)) == "sibling");
    BOOST_TEST(seen == 1);
    BOOST_TEST(w.ex.stats().rounds == 5u);
    BOOST_CHECK_THROW(w.ex.run(fails_after_a_get<W>("root")), boom);
    BOOST_TEST(frame_probe::live == 0);
    BOOST_TEST(w.ex.run(child<W>(1)) == 3);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(misuse_is_a_usage_error, W, worlds) {
    W w;
    auto g = child<W>(1);
    BOOST_TEST(w.ex.run(g) == 3);
    BOOST_CHECK_THROW(w.ex.run(g), batch::usage_error);
    auto h = std::move(g);
    BOOST_CHECK_THROW(w.ex.run(std::move(g)), batch::usage_error);
}
