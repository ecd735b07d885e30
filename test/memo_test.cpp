#define BOOST_TEST_MODULE memo
// The original project's cached_generator scenarios: memoize and memo_cache.
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

using namespace test;

namespace {

batch::memo_cache cache;
std::map<int, int> fib_runs;

gen<long> fib_body(int n);
auto const fib = batch::memoize(cache, fib_body);

// Memoised Fibonacci with an operation at every node.
gen<long> fib_body(int n) {
    ++fib_runs[n];
    int const k = co_yield identity{n};
    if (k <= 1) co_return 1;
    auto [a, b] = co_yield hana::make_tuple(fib(k - 1), fib(k - 2));
    co_return a + b;
}

struct fresh_cache {
    fresh_cache() {
        cache.clear();
        fib_runs.clear();
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(memoize, fresh_cache)

BOOST_AUTO_TEST_CASE(memoised_fibonacci_runs_each_key_once_across_runs) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(fib(30)) == 1346269);
    // fib(k - 2) starts beside fib(k - 1) and is shared by it, so the rounds advance two
    // levels at a time.
    BOOST_TEST(ex.stats().rounds == 16u);
    BOOST_TEST(ex.stats().generators == 31u);
    // Several ways: again, a smaller one, a tuple of overlapping ones, a larger one.
    BOOST_TEST(ex.run(fib(30)) == 1346269);
    BOOST_TEST(ex.stats().rounds == 0u);
    BOOST_TEST(ex.run(fib(10)) == 89);
    auto [a, b] = ex.run(hana::make_tuple(fib(20), fib(35)));
    BOOST_TEST(a == 10946);
    BOOST_TEST(b == 14930352);
    auto other = make_test_executor();
    BOOST_TEST(other.run(fib(36)) == 24157817);
    BOOST_TEST(fib_runs.size() == 37u);
    for (auto const& [n, runs] : fib_runs) BOOST_TEST(runs == 1, "fib(" << n << ") ran " << runs << " times");
    BOOST_TEST(cache.size() == 37u);
}

namespace {

int kind_calls = 0;

gen<std::size_t> count_all(std::vector<int> v, std::map<std::string, std::set<int>> m,
                           std::unordered_set<std::string> u, std::pair<int, std::vector<std::string>> p) {
    ++kind_calls;
    co_return v.size() + m.size() + u.size() + p.second.size();
}

} // namespace

BOOST_AUTO_TEST_CASE(vectors_maps_sets_and_pairs_are_keys_without_user_code) {
    auto f = batch::memoize(cache, count_all);
    auto ex = make_test_executor();
    auto call = [&](std::vector<int> v, std::unordered_set<std::string> u) {
        return ex.run(f(std::move(v), std::map<std::string, std::set<int>>{{"a", {1, 2}}}, std::move(u),
                        std::pair{1, std::vector<std::string>{"x"}}));
    };
    BOOST_TEST(call({1, 2, 3}, {"p", "q"}) == 7u);
    BOOST_TEST(call({1, 2, 3}, {"q", "p"}) == 7u); // the same set, whatever its order
    BOOST_TEST(kind_calls == 1);
    BOOST_TEST(call({1, 2}, {"p", "q"}) == 6u);
    BOOST_TEST(kind_calls == 2);
}

namespace {

int checked_calls = 0;

// Throws before any coroutine exists, for negative arguments.
gen<int> checked(int n) {
    ++checked_calls;
    if (n < 0) throw std::invalid_argument("negative");
    return [](int k) -> gen<int> { co_return k * 2; }(n);
}

} // namespace

BOOST_AUTO_TEST_CASE(an_exception_thrown_by_the_function_itself_is_remembered) {
    auto f = batch::memoize(cache, checked);
    BOOST_CHECK_THROW(f(-1), std::invalid_argument);
    BOOST_CHECK_THROW(f(-1), std::invalid_argument);
    BOOST_TEST(checked_calls == 1);
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(f(4)) == 8);
    BOOST_TEST(ex.run(f(4)) == 8);
    BOOST_TEST(checked_calls == 2);
}

BOOST_AUTO_TEST_CASE(clearing_a_cache_shared_by_two_functions_forgets_both) {
    int doubles = 0;
    int triples = 0;
    auto twice = batch::memoize(cache, [&doubles](int n) -> gen<int> {
        ++doubles;
        int v = co_yield get{n};
        co_return v;
    });
    auto thrice = batch::memoize(cache, [&triples](int n) -> gen<int> {
        ++triples;
        co_return n * 3;
    });
    auto ex = make_test_executor();
    auto [a, b] = ex.run(hana::make_tuple(twice(5), thrice(5)));
    BOOST_TEST(a == 10);
    BOOST_TEST(b == 15);
    ex.run(hana::make_tuple(twice(5), thrice(5)));
    BOOST_TEST(doubles == 1);
    BOOST_TEST(triples == 1);
    BOOST_TEST(cache.size() == 2u);
    cache.clear();
    BOOST_TEST(cache.size() == 0u);
    ex.run(hana::make_tuple(twice(5), thrice(5)));
    BOOST_TEST(doubles == 2);
    BOOST_TEST(triples == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_memoised_function_may_call_another_but_not_clear_the_cache) {
    batch::memo_cache own;
    auto inner = batch::memoize(own, [](int k) -> gen<int> {
        int v = co_yield get{k};
        co_return v;
    });
    // Calling `inner` while `outer`'s call is inside the cache: the same thread, so allowed.
    auto outer = batch::memoize(own, [&inner](int k) -> gen<int> {
        auto const first = inner(k);
        return [](batch::shared<int, ops> s) -> gen<int> {
            int v = co_yield s;
            co_return v + 1;
        }(first);
    });
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(outer(5)) == 11);
    BOOST_TEST(own.size() == 2u);

    auto clears = batch::memoize(own, [&own, &inner](int k) {
        own.clear(); // would destroy the table this call is using
        return [](batch::shared<int, ops> s) -> gen<int> {
            int v = co_yield s;
            co_return v;
        }(inner(k));
    });
    BOOST_CHECK_THROW((void)clears(1), batch::usage_error);
    BOOST_TEST(own.size() == 3u); // the failure is remembered for its key, and nothing was cleared
}
