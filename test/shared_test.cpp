// The original project's SharedGenerator scenarios, and cycles: built twice, for the shared
// generators that may be used on any thread (shared_test) and for those that stay on one
// (shared_one_thread_test, with BATCH_TEST_SHARED_THREADS=one).
#ifndef BATCH_TEST_SHARED_THREADS
#define BATCH_TEST_SHARED_THREADS any
#endif
#define BOOST_TEST_MODULE shared
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <vector>

using namespace test;

namespace {

constexpr batch::threads threads = batch::threads::BATCH_TEST_SHARED_THREADS;
using shared_int = batch::shared<int, ops, threads>;

template <class T>
auto shared_from(gen<T> g) {
    return batch::share<threads>(std::move(g));
}

int body_runs = 0;

gen<int> body(int key) {
    frame_probe probe;
    ++body_runs;
    int v = co_yield get{key};
    co_return v;
}

gen<int> plus_one(shared_int s) {
    frame_probe probe;
    int v = co_yield s;
    co_return v + 1;
}

gen<int> throwing_body() {
    frame_probe probe;
    ++body_runs;
    co_yield get{1};
    throw boom("shared failure");
}

struct fixture {
    fixture() { body_runs = 0; }
    ~fixture() { BOOST_TEST(frame_probe::live == 0); }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(shared_generators, fixture)

BOOST_AUTO_TEST_CASE(yielded_from_two_places_in_parallel_it_runs_once) {
    auto ex = make_test_executor();
    auto s = shared_from(body(21));
    auto [a, b, c] = ex.run(hana::make_tuple(plus_one(s), plus_one(s), s));
    BOOST_TEST(a == 43);
    BOOST_TEST(b == 43);
    BOOST_TEST(c == 42);
    BOOST_TEST(body_runs == 1);
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats().operations == 1u);
    BOOST_TEST(ex.stats().generators == 3u); // two plus_one and the shared body, once
}

BOOST_AUTO_TEST_CASE(used_once) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(plus_one(shared_from(body(5)))) == 11);
    BOOST_TEST(body_runs == 1);
}

BOOST_AUTO_TEST_CASE(finished_before_its_second_yield_its_kept_result_is_used) {
    auto ex = make_test_executor();
    auto s = shared_from(body(4));
    BOOST_TEST(ex.run(s) == 8);
    BOOST_TEST(ex.run(plus_one(s)) == 9);
    BOOST_TEST(ex.stats().rounds == 0u);
    BOOST_TEST(ex.stats().batches == 0u);
    // On another executor too.
    auto other = make_test_executor();
    std::vector<shared_int> copies{s, s};
    BOOST_TEST((other.run(std::move(copies)) == std::vector<int>{8, 8}));
    BOOST_TEST(body_runs == 1);
}

namespace {

gen<int> runs_it_on_another_executor(shared_int s, std::string& outcome) {
    auto inner = make_test_executor();
    try {
        int v = inner.run(s);
        outcome = "inner result " + std::to_string(v);
    } catch (batch::usage_error const&) {
        outcome = "usage_error";
    }
    co_return 0;
}

} // namespace

BOOST_AUTO_TEST_CASE(driven_by_another_executor_it_is_a_usage_error_never_a_wrong_result) {
    auto ex = make_test_executor();
    auto s = shared_from(body(10));
    std::string outcome;
    // The outer run starts s first; the nested run on another executor then finds it running.
    auto [v, ignored] = ex.run(hana::make_tuple(s, runs_it_on_another_executor(s, outcome)));
    BOOST_TEST(v == 20);
    BOOST_TEST(ignored == 0);
    BOOST_TEST(outcome == "usage_error");
    BOOST_TEST(body_runs == 1);

    // Finished by a nested run first, the outer run uses the kept result.
    auto t = shared_from(body(3));
    std::string first;
    auto [unused, w] = ex.run(hana::make_tuple(runs_it_on_another_executor(t, first), plus_one(t)));
    BOOST_TEST(first == "inner result 6");
    BOOST_TEST(unused == 0);
    BOOST_TEST(w == 7);
    BOOST_TEST(body_runs == 2);
}

BOOST_AUTO_TEST_CASE(a_throwing_body_runs_once_and_always_rethrows) {
    auto ex = make_test_executor();
    auto s = shared_from(throwing_body());
    BOOST_CHECK_THROW(ex.run(s), boom);
    BOOST_CHECK_THROW(ex.run(s), boom);
    BOOST_CHECK_THROW(ex.run(hana::make_tuple(s, s)), boom);
    BOOST_CHECK_THROW(ex.run(plus_one(s)), boom);
    BOOST_TEST(body_runs == 1);
    BOOST_TEST(ex.run(get{1}) == 2);
}

BOOST_AUTO_TEST_CASE(in_vectors_and_maps) {
    auto ex = make_test_executor();
    auto s = shared_from(body(1));
    std::map<std::string, shared_int> by_name{{"a", s}, {"b", s}};
    auto out = ex.run(std::move(by_name));
    BOOST_TEST(out.at("a") == 2);
    BOOST_TEST(out.at("b") == 2);
    BOOST_TEST(body_runs == 1);
}

namespace {

gen<int> at_once(int v) {
    frame_probe probe;
    ++body_runs;
    co_return v;
}

gen<int> sum_of(std::vector<shared_int> v) {
    frame_probe probe;
    auto const results = co_yield std::move(v);
    int sum = 0;
    for (int x : results) sum += x;
    co_return sum;
}

// Yields `item`: -1 if the yield is refused (a `batch::usage_error`), else 0.
template <class Item>
gen<int> refused_or_zero(Item item) {
    frame_probe probe;
    try {
        co_yield std::move(item);
    } catch (batch::usage_error const&) {
        co_return -1;
    }
    co_return 0;
}

} // namespace

BOOST_AUTO_TEST_CASE(in_a_vector_yielded_by_a_generator_each_body_starts_as_it_is_enrolled) {
    auto ex = make_test_executor();
    auto one = shared_from(at_once(1));
    auto two = shared_from(at_once(2));
    BOOST_TEST(ex.run(sum_of({one, one, two})) == 4);
    BOOST_TEST(ex.stats().rounds == 0u); // each body finished as it started: the yield did not wait
    BOOST_TEST(body_runs == 2);
    BOOST_TEST(ex.run(sum_of({two, one})) == 3); // kept results
    BOOST_TEST(body_runs == 2);
    auto waits = shared_from(body(5));
    BOOST_TEST(ex.run(sum_of({waits, two, waits})) == 22);
    BOOST_TEST(ex.stats().rounds == 1u);
}

BOOST_AUTO_TEST_CASE(an_empty_handle_in_a_yielded_vector_is_thrown_once_the_started_ones_finish) {
    auto ex = make_test_executor();
    auto first = shared_from(body(1));
    auto last = shared_from(body(2));
    BOOST_TEST(ex.run(refused_or_zero(std::vector<shared_int>{first, shared_int{}, last})) == -1);
    BOOST_TEST(body_runs == 1); // the body before the empty handle ran and finished; the one after did not
    BOOST_TEST(ex.run(plus_one(first)) == 3);
    BOOST_TEST(body_runs == 1);
    BOOST_TEST(ex.run(plus_one(last)) == 5);
    BOOST_TEST(body_runs == 2);
}

BOOST_AUTO_TEST_CASE(a_start_undone_by_a_failed_yield_leaves_it_to_the_next_yield) {
    auto ex = make_test_executor();
    auto s = shared_from(body(6));
    // The yield fails at the moved-from generator, after enrolling `s`, which it undoes.
    auto spent = body(0);
    auto const taken = std::move(spent);
    BOOST_TEST(ex.run(refused_or_zero(hana::make_tuple(s, std::move(spent)))) == -1);
    BOOST_TEST(body_runs == 0);
    // The run that undid the start has ended; the shared generator was never started, so it
    // is not ended with it: the next yield runs it.
    BOOST_TEST(ex.run(plus_one(s)) == 13);
    BOOST_TEST(body_runs == 1);
}

BOOST_AUTO_TEST_CASE(empty_or_misused_handles_are_usage_errors) {
    auto ex = make_test_executor();
    BOOST_CHECK_THROW(ex.run(shared_int{}), batch::usage_error);
    auto g = body(1);
    auto moved = std::move(g);
    BOOST_CHECK_THROW(static_cast<void>(shared_from(std::move(g))), batch::usage_error);
    ex.run(moved);
    BOOST_CHECK_THROW(static_cast<void>(shared_from(std::move(moved))), batch::usage_error);
}

namespace {

// A cycle of length 1: the shared generator yields itself.
shared_int self_loop;
gen<int> yields_itself() {
    frame_probe probe;
    int v = co_yield self_loop;
    co_return v;
}

// A cycle of length 3: a waits on b, b on c, c on a, each through a shared generator.
shared_int ring[3];
gen<int> ring_member(int i) {
    frame_probe probe;
    co_yield get{i};
    int v = co_yield ring[(i + 1) % 3];
    co_return v;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_cycle_of_length_one_is_a_cycle_error_and_nothing_leaks) {
    auto ex = make_test_executor();
    self_loop = shared_from(yields_itself());
    try {
        ex.run(plus_one(self_loop));
        BOOST_FAIL("expected a cycle_error");
    } catch (batch::cycle_error const& e) {
        BOOST_TEST(std::string(e.what()).find("2 generators") != std::string::npos, e.what());
    }
    BOOST_TEST(frame_probe::live == 0);
    BOOST_CHECK_THROW(ex.run(self_loop), batch::cycle_error); // its kept outcome
    self_loop = {};
    BOOST_TEST(ex.run(get{3}) == 6);
}

BOOST_AUTO_TEST_CASE(a_cycle_of_length_three_is_a_cycle_error_and_nothing_leaks) {
    auto ex = make_test_executor();
    for (int i = 0; i < 3; ++i) ring[i] = shared_from(ring_member(i));
    try {
        ex.run(ring[0]);
        BOOST_FAIL("expected a cycle_error");
    } catch (batch::cycle_error const& e) {
        BOOST_TEST(std::string(e.what()).find("3 generators") != std::string::npos, e.what());
    }
    BOOST_TEST(ex.stats().rounds == 3u); // each member's get, then the wait that closes the ring
    for (auto& r : ring) r = {};
    BOOST_TEST(frame_probe::live == 0);
    BOOST_TEST(ex.run(get{4}) == 8);
}

BOOST_AUTO_TEST_SUITE_END()
