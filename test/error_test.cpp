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

// Every yield point and every batcher call of a mid-size program, made to fail one at a time.
namespace {

struct fault_plan {
    int countdown = -1; ///< Fails when it reaches zero; negative never fails.
    void tick() {
        if (countdown >= 0 && countdown-- == 0) throw boom("injected");
    }
};

fault_plan plan;

struct planned_get_batcher {
    std::vector<int> operator()(std::span<get const> in) const {
        plan.tick();
        std::vector<int> out;
        for (auto const& op : in) out.push_back(op.key * 2);
        return out;
    }
};

gen<int> leaf(int k) {
    frame_probe probe;
    plan.tick();
    int v = co_yield get{k};
    plan.tick();
    co_return v;
}

gen<int> branch(int depth, int k) {
    frame_probe probe;
    plan.tick();
    if (depth == 0) {
        int v = co_yield leaf(k);
        co_return v;
    }
    std::vector<gen<int>> kids;
    kids.push_back(branch(depth - 1, 2 * k));
    kids.push_back(leaf(k));
    auto [vs, x] = co_yield hana::make_tuple(std::move(kids), get{k});
    plan.tick();
    int more = co_yield branch(depth - 1, k + 1);
    co_return vs[0] + vs[1] + x + more;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_failure_at_every_point_leaks_nothing_and_the_executor_stays_usable) {
    auto ex = batch::make_executor<ops>(planned_get_batcher{}, identity_batcher{}, put_batcher{});
    plan.countdown = -1;
    int const expected = ex.run(branch(3, 1));
    BOOST_TEST(frame_probe::live == 0);
    int failures = 0;
    for (int point = 0;; ++point) {
        plan.countdown = point;
        try {
            int const got = ex.run(branch(3, 1));
            BOOST_TEST(got == expected);
            BOOST_TEST(plan.countdown >= 0); // no fault was injected
            break;                           // the countdown outlived the program: every point has been tried
        } catch (boom const&) {
            ++failures;
        }
        BOOST_TEST(frame_probe::live == 0);
        plan.countdown = -1;
        BOOST_TEST(ex.run(branch(3, 1)) == expected);
    }
    BOOST_TEST(failures > 30);
    BOOST_TEST(frame_probe::live == 0);
}

BOOST_AUTO_TEST_CASE(unstarted_generators_and_executors_are_destroyed_cleanly) {
    {
        auto g = branch(2, 1);
        auto ex = make_test_executor();
    }
    BOOST_TEST(frame_probe::live == 0);
    {
        std::vector<gen<int>> v;
        v.push_back(leaf(1));
        v.push_back(leaf(2));
    }
    BOOST_TEST(frame_probe::live == 0);
}
