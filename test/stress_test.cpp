#define BOOST_TEST_MODULE stress
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

using namespace test;

namespace {

gen<int> chain(int depth) {
    if (depth == 0) co_return 0;
    int below = co_yield chain(depth - 1);
    co_return below + 1;
}

gen<std::int64_t> sequential(int steps) {
    std::int64_t total = 0;
    for (int i = 0; i < steps; ++i) total += co_yield get{i};
    co_return total;
}

gen<int> child(int i) {
    int v = co_yield get{i};
    co_return v + 1;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_million_nested_generators_do_not_grow_the_stack) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(chain(1'000'000)) == 1'000'000);
    BOOST_TEST(ex.stats().generators == 1'000'001u);
    BOOST_TEST(ex.stats().rounds == 0u);
}

BOOST_AUTO_TEST_CASE(a_million_sequential_rounds) {
    auto ex = make_test_executor();
    constexpr int steps = 1'000'000;
    BOOST_TEST(ex.run(sequential(steps)) == std::int64_t{steps} * (steps - 1));
    BOOST_TEST(ex.stats().rounds == std::size_t{steps});
    BOOST_TEST(ex.stats().batches == std::size_t{steps});
}

BOOST_AUTO_TEST_CASE(a_hundred_thousand_generators_in_one_yield) {
    get_batcher gets;
    auto ex = batch::make_executor<ops>(gets, identity_batcher{}, put_batcher{});
    constexpr int n = 100'000;
    std::vector<gen<int>> gens;
    gens.reserve(n);
    for (int i = 0; i < n; ++i) gens.push_back(child(i));
    auto out = ex.run(std::move(gens));
    BOOST_REQUIRE(out.size() == std::size_t{n});
    std::int64_t sum = 0;
    for (int v : out) sum += v;
    BOOST_TEST(sum == std::int64_t{n} * (n - 1) + n);
    BOOST_TEST(out[12345] == 2 * 12345 + 1);
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats().batches == 1u);
    BOOST_TEST(ex.stats().largest_batch == std::size_t{n});
    BOOST_TEST(gets.log->calls.size() == 1u);
}
