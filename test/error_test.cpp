#define BOOST_TEST_MODULE error
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <span>
#include <string>
#include <utility>
#include <vector>

using namespace test;

namespace {

gen<int> fails(std::string what) {
    frame_probe probe;
    co_yield get{1};
    throw boom(what);
}

gen<int> fails_at_once(std::string what) {
    throw boom(std::move(what));
    co_return 0;
}

gen<int> fails_nested(std::string what) {
    frame_probe probe;
    int v = co_yield fails(std::move(what));
    co_return v;
}

gen<int> long_running(int rounds, int& finished) {
    frame_probe probe;
    int total = 0;
    for (int i = 0; i < rounds; ++i) total += co_yield get{i};
    ++finished;
    co_return total;
}

// Catches the failure of `child`, then yields more work.
gen<std::string> recovers(gen<int> child) {
    frame_probe probe;
    std::string seen;
    try {
        co_yield std::move(child);
        seen = "no exception";
    } catch (boom const& e) {
        seen = e.what();
    }
    int after = co_yield get{20};
    co_return seen + ":" + std::to_string(after);
}

} // namespace

BOOST_AUTO_TEST_CASE(an_exception_from_a_child_is_caught_by_the_parent_which_goes_on) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(recovers(fails("child"))) == "child:40");
    BOOST_TEST(ex.run(recovers(fails_at_once("at once"))) == "at once:40");
    BOOST_TEST(frame_probe::live == 0);
}

BOOST_AUTO_TEST_CASE(an_exception_from_a_nested_child_reaches_the_parent) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(recovers(fails_nested("deep"))) == "deep:40");
    BOOST_TEST(ex.stats().rounds == 2u);
    BOOST_TEST(frame_probe::live == 0);
}

BOOST_AUTO_TEST_CASE(an_uncaught_exception_is_rethrown_by_run_and_the_executor_stays_usable) {
    auto ex = make_test_executor();
    BOOST_CHECK_EXCEPTION(ex.run(fails_nested("root")), boom,
                          [](boom const& e) { return e.what() == std::string("root"); });
    BOOST_TEST(frame_probe::live == 0);
    BOOST_CHECK_THROW(ex.run(fails_at_once("x")), boom);
    BOOST_TEST(ex.run(get{2}) == 4);
}

namespace {

// Throws when any key in the call is odd.
struct throwing_get_batcher {
    std::vector<int> operator()(std::span<get const> in) const {
        std::vector<int> out;
        for (auto const& op : in) {
            if (op.key % 2) throw boom("batcher");
            out.push_back(op.key * 2);
        }
        return out;
    }
};

gen<int> asks(int key) {
    frame_probe probe;
    int v = co_yield get{key};
    co_return v;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_throwing_batcher_fails_every_operation_of_its_call) {
    auto ex = batch::make_executor<ops>(throwing_get_batcher{}, identity_batcher{}, put_batcher{});
    BOOST_TEST(ex.run(recovers(asks(1))) == "batcher:40");
    // One odd key fails the whole call, so the even key's generator fails too.
    std::vector<gen<std::string>> both;
    both.push_back(recovers(asks(1)));
    both.push_back(recovers(asks(2)));
    auto out = ex.run(std::move(both));
    BOOST_TEST((out == std::vector<std::string>{"batcher:40", "batcher:40"}));
    BOOST_TEST(ex.stats().rounds == 2u);
    BOOST_CHECK_EXCEPTION(ex.run(asks(3)), boom, [](boom const& e) { return e.what() == std::string("batcher"); });
    BOOST_TEST(ex.stats().batches == 1u);
    BOOST_TEST(frame_probe::live == 0);
    BOOST_TEST(ex.run(identity{5}) == 5);
}

namespace {

struct flaky {
    int key;
    using result_type = int;
};
using flaky_ops = batch::operations<get, flaky>;

// A generator batcher: asks `get` for each key, then fails for negative keys.
batch::gen<std::vector<int>, flaky_ops> flaky_batcher(std::span<flaky const> in) {
    std::vector<get> gets;
    for (auto const& op : in) gets.push_back(get{op.key});
    std::vector<int> values = co_yield std::move(gets);
    for (auto const& op : in) {
        if (op.key < 0) throw boom("generator batcher");
    }
    co_return values;
}

// Catches a failure of the generator batcher, then yields more work.
batch::gen<std::string, flaky_ops> catches_flaky(int key) {
    std::string seen;
    try {
        int v = co_yield flaky{key};
        seen = std::to_string(v);
    } catch (boom const& e) {
        seen = e.what();
    }
    int after = co_yield get{50};
    co_return seen + ":" + std::to_string(after);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_failing_generator_batcher_is_caught_or_rethrown) {
    auto ex = batch::make_executor<flaky_ops>(get_batcher{}, flaky_batcher);
    BOOST_TEST(ex.run(catches_flaky(4)) == "8:100");
    BOOST_TEST(ex.stats().rounds == 3u);
    BOOST_TEST(ex.run(catches_flaky(-1)) == "generator batcher:100");
    BOOST_TEST(ex.stats().rounds == 3u);
    BOOST_CHECK_THROW(ex.run(flaky{-1}), boom);
    BOOST_TEST(ex.run(flaky{3}) == 6);

    // A generator batcher that throws before it returns its generator.
    auto early = batch::make_executor<flaky_ops>(
        get_batcher{}, [](std::span<flaky const>) -> batch::gen<std::vector<int>, flaky_ops> { throw boom("early"); });
    BOOST_CHECK_EXCEPTION(early.run(flaky{1}), boom, [](boom const& e) { return e.what() == std::string("early"); });
    BOOST_CHECK_THROW(early.run(flaky{2}), boom);
    BOOST_TEST(early.run(get{2}) == 4);
}

BOOST_AUTO_TEST_CASE(two_failing_siblings_throw_the_first) {
    auto ex = make_test_executor();
    BOOST_CHECK_EXCEPTION(ex.run(hana::make_tuple(fails("first"), fails_at_once("second"))), boom,
                          [](boom const& e) { return e.what() == std::string("first"); });
    std::vector<gen<int>> v;
    v.push_back(fails_nested("one"));
    v.push_back(fails("two"));
    BOOST_CHECK_EXCEPTION(ex.run(std::move(v)), boom, [](boom const& e) { return e.what() == std::string("one"); });
    BOOST_TEST(frame_probe::live == 0);
}

namespace {

gen<std::string> waits_for_both(int& finished, int& finished_seen_by_parent) {
    try {
        co_yield hana::make_tuple(fails_at_once("sibling"), long_running(6, finished));
    } catch (boom const& e) {
        finished_seen_by_parent = finished;
        co_return std::string(e.what());
    }
    co_return std::string("none");
}

} // namespace

BOOST_AUTO_TEST_CASE(a_failing_sibling_waits_for_the_long_running_one) {
    auto ex = make_test_executor();
    int finished = 0;
    int seen = -1;
    BOOST_TEST(ex.run(waits_for_both(finished, seen)) == "sibling");
    BOOST_TEST(seen == 1);
    BOOST_TEST(ex.stats().rounds == 6u);
}

// Failures injected at every yield point and batcher call, with live frames counted, and the
// destruction of unstarted generators and of executors: failure_paths_test.cpp.
