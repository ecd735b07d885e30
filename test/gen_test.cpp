#define BOOST_TEST_MODULE gen
#include "support.hpp"

#include <boost/hana/at.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

using namespace test;

// A generator runs once: generic code sees it as move-only.
static_assert(!std::is_copy_constructible_v<gen<int>> && !std::is_copy_assignable_v<gen<int>>);
static_assert(std::is_nothrow_move_constructible_v<gen<int>> && std::is_nothrow_move_assignable_v<gen<int>>);

namespace {

gen<int> just(int v) { co_return v; }

gen<void> nothing_at_all(int& touched) {
    ++touched;
    co_return;
}

gen<int> doubled(int key) {
    int v = co_yield get{key};
    co_return v;
}

gen<int> awaited(int key) {
    int v = co_await get{key};
    co_return v;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_generator_that_only_returns_a_value) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(just(7)) == 7);
    BOOST_TEST(ex.stats().rounds == 0u);
    BOOST_TEST(ex.stats().batches == 0u);
    BOOST_TEST(ex.stats().generators == 1u);
}

BOOST_AUTO_TEST_CASE(a_generator_that_returns_nothing) {
    auto ex = make_test_executor();
    int touched = 0;
    ex.run(nothing_at_all(touched));
    static_assert(std::is_void_v<decltype(ex.run(nothing_at_all(touched)))>);
    BOOST_TEST(touched == 1);
}

BOOST_AUTO_TEST_CASE(generators_are_lazy) {
    int touched = 0;
    { auto g = nothing_at_all(touched); }
    BOOST_TEST(touched == 0);
}

BOOST_AUTO_TEST_CASE(a_single_operation) {
    get_batcher gets;
    auto ex = batch::make_executor<ops>(gets, identity_batcher{}, put_batcher{});
    BOOST_TEST(ex.run(doubled(21)) == 42);
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats().batches == 1u);
    BOOST_TEST(ex.stats().operations == 1u);
    BOOST_TEST(gets.log->calls.size() == 1u);
}

BOOST_AUTO_TEST_CASE(running_an_operation_directly) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(get{5}) == 10);
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats().generators == 0u);
    ex.run(put{1, 2});
    BOOST_TEST(ex.stats().batches == 1u);
}

BOOST_AUTO_TEST_CASE(co_await_means_co_yield) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(awaited(4)) == 8);
}

BOOST_AUTO_TEST_CASE(operations_in_a_tuple_share_one_batch_per_type) {
    get_batcher gets;
    auto ex = batch::make_executor<ops>(gets, identity_batcher{}, put_batcher{});
    auto [a, b, c, d] = ex.run(hana::make_tuple(get{1}, get{2}, identity{9}, put{3, 4}));
    BOOST_TEST(a == 2);
    BOOST_TEST(b == 4);
    BOOST_TEST(c == 9);
    static_assert(std::is_same_v<decltype(d), batch::unit>);
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats().batches == 3u);
    BOOST_TEST(ex.stats().largest_batch == 2u);
    BOOST_TEST(ex.stats_of<get>().batches == 1u);
    BOOST_TEST(ex.stats_of<get>().operations == 2u);
    BOOST_TEST(ex.stats_of<put>().operations == 1u);
    BOOST_REQUIRE(gets.log->calls.size() == 1u);
    BOOST_TEST(gets.log->calls[0].size() == 2u);
}

BOOST_AUTO_TEST_CASE(operations_in_a_vector_make_one_batch_in_order) {
    get_batcher gets;
    auto ex = batch::make_executor<ops>(gets, identity_batcher{}, put_batcher{});
    std::vector<get> input;
    for (int i = 0; i < 10; ++i) input.push_back(get{i});
    auto out = ex.run(std::move(input));
    BOOST_REQUIRE(out.size() == 10u);
    for (int i = 0; i < 10; ++i) BOOST_TEST(out[static_cast<std::size_t>(i)] == 2 * i);
    BOOST_REQUIRE(gets.log->calls.size() == 1u);
    for (int i = 0; i < 10; ++i) BOOST_TEST(gets.log->calls[0][static_cast<std::size_t>(i)].key == i);
    BOOST_TEST(ex.stats().rounds == 1u);
}

namespace {

gen<std::size_t> empty_yields() {
    std::vector<get> none;
    auto a = co_yield std::move(none);
    auto b = co_yield hana::make_tuple();
    std::vector<gen<int>> no_gens;
    auto c = co_yield std::move(no_gens);
    std::map<int, get> no_map;
    auto d = co_yield std::move(no_map);
    co_return a.size() + std::tuple_size_v<decltype(b)> + c.size() + d.size();
}

} // namespace

BOOST_AUTO_TEST_CASE(an_empty_yield_resumes_at_once_without_a_round) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(empty_yields()) == 0u);
    BOOST_TEST(ex.stats().rounds == 0u);
    BOOST_TEST(ex.stats().batches == 0u);
}

namespace {

gen<void> write(int key) { co_yield put{key, key}; }

gen<int> structured() {
    std::map<std::string, gen<int>> by_name;
    by_name.emplace("one", doubled(1));
    by_name.emplace("two", doubled(2));
    std::unordered_map<int, get> by_key{{3, get{3}}, {4, get{4}}};
    std::vector<std::map<int, gen<int>>> nested(2);
    nested[0].emplace(5, doubled(5));
    nested[1].emplace(6, doubled(6));
    nested[1].emplace(7, just(7));
    std::vector<gen<void>> writes;
    writes.push_back(write(1));
    auto [names, keys, deep, done] =
        co_yield hana::make_tuple(std::move(by_name), std::move(by_key), std::move(nested), std::move(writes));
    static_assert(std::is_same_v<decltype(names), std::map<std::string, int>>);
    static_assert(std::is_same_v<decltype(keys), std::unordered_map<int, int>>);
    static_assert(std::is_same_v<decltype(deep), std::vector<std::map<int, int>>>);
    static_assert(std::is_same_v<decltype(done), std::vector<batch::unit>>);
    BOOST_TEST(done.size() == 1u);
    co_return names.at("one") + names.at("two") + keys.at(3) + keys.at(4) + deep[0].at(5) + deep[1].at(6)
        + deep[1].at(7);
}

} // namespace

BOOST_AUTO_TEST_CASE(structured_yields_tuples_of_vectors_of_maps) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(structured()) == 2 + 4 + 6 + 8 + 10 + 12 + 7);
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats_of<get>().batches == 1u);
    BOOST_TEST(ex.stats_of<get>().operations == 6u);
    BOOST_TEST(ex.stats_of<put>().operations == 1u);
}

BOOST_AUTO_TEST_CASE(an_lvalue_is_driven_in_place_and_runs_once) {
    auto ex = make_test_executor();
    auto g = doubled(3);
    BOOST_TEST(ex.run(g) == 6);
    BOOST_TEST(g.valid());
    BOOST_CHECK_THROW(ex.run(g), batch::usage_error);
    get op{4};
    BOOST_TEST(ex.run(op) == 8);
    BOOST_TEST(op.key == 4);
}

BOOST_AUTO_TEST_CASE(a_moved_from_or_empty_generator_is_a_usage_error) {
    auto ex = make_test_executor();
    auto g = doubled(3);
    auto h = std::move(g);
    BOOST_CHECK_THROW(ex.run(std::move(g)), batch::usage_error);
    BOOST_CHECK_THROW(ex.run(gen<int>{}), batch::usage_error);
    BOOST_TEST(ex.run(std::move(h)) == 6);
}

namespace {

gen<int> yields_twice(gen<int>& shared_child) {
    int a = co_yield shared_child;
    try {
        co_yield shared_child;
    } catch (batch::usage_error const&) {
        co_return a + 1000;
    }
    co_return a;
}

} // namespace

BOOST_AUTO_TEST_CASE(yielding_a_finished_generator_throws_at_the_yield) {
    auto ex = make_test_executor();
    auto child = doubled(5);
    BOOST_TEST(ex.run(yields_twice(child)) == 1010);
}

BOOST_AUTO_TEST_CASE(usage_errors_are_batch_errors) {
    static_assert(std::is_base_of_v<batch::error, batch::usage_error>);
    static_assert(std::is_base_of_v<batch::error, batch::batcher_error>);
    static_assert(std::is_base_of_v<std::runtime_error, batch::error>);
}

namespace {

// Yields a structure whose last generator was already run: nothing of it may be enrolled, so
// its fresh generator can be yielded again.
gen<int> yields_a_bad_structure(gen<int> finished) {
    auto items = hana::make_tuple(get{1}, doubled(7), std::move(finished));
    bool refused = false;
    try {
        co_yield items; // an lvalue: its generators are driven in place
    } catch (batch::usage_error const&) {
        refused = true;
    }
    if (!refused) co_return -1;
    int again = co_yield hana::at_c<1>(items);
    co_return again;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_failed_yield_enrolls_nothing) {
    get_batcher gets;
    auto ex = batch::make_executor<ops>(gets, identity_batcher{}, put_batcher{});
    auto finished = doubled(1);
    ex.run(finished);
    BOOST_TEST(ex.run(yields_a_bad_structure(std::move(finished))) == 14);
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats().operations == 1u); // get{1} was withdrawn with the failed yield
    BOOST_TEST(ex.stats().generators == 2u);
    BOOST_REQUIRE(gets.log->calls.size() == 2u);
    BOOST_TEST(gets.log->calls[1][0].key == 7);
}

namespace {

// Counts the generators whose bodies have begun and not yet ended (finished or destroyed).
struct alive {
    int& count;
    explicit alive(int& c) : count(c) { ++count; }
    alive(alive const&) = delete;
    ~alive() { --count; }
};

gen<int> counted(int key, int& living, int& started) {
    ++started;
    alive const a(living);
    int v = co_yield get{key};
    co_return v;
}

// Yields a vector whose third generator was moved from.
gen<int> yields_a_vector_with_a_hole(int& living, int& started, bool& refused) {
    std::vector<gen<int>> v;
    v.push_back(counted(1, living, started));
    v.push_back(counted(2, living, started));
    auto moved = counted(3, living, started);
    auto const kept = std::move(moved);
    v.push_back(std::move(moved));
    v.push_back(counted(4, living, started));
    try {
        co_yield std::move(v);
    } catch (batch::usage_error const&) {
        refused = true;
        co_return -1;
    }
    co_return 0;
}

gen<std::vector<int>> yields_finished_and_waiting(int& started) {
    std::vector<gen<int>> v;
    v.push_back(just(1));
    int living = 0;
    v.push_back(counted(2, living, started));
    v.push_back(just(3));
    auto r = co_yield std::move(v);
    if (living != 0) r.push_back(-1);
    co_return r;
}

gen<std::vector<int>> yields_only_finished() {
    std::vector<gen<int>> v;
    for (int i = 0; i < 3; ++i) v.push_back(just(i));
    co_return co_yield std::move(v);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_yielded_vector_runs_its_generators_to_their_first_yield_at_once) {
    auto ex = make_test_executor();
    BOOST_TEST((ex.run(yields_only_finished()) == std::vector<int>{0, 1, 2}));
    BOOST_TEST(ex.stats().rounds == 0u); // each finished as it started: the yield did not wait
    BOOST_TEST(ex.stats().generators == 4u);
    int started = 0;
    BOOST_TEST((ex.run(yields_finished_and_waiting(started)) == std::vector<int>{1, 4, 3}));
    BOOST_TEST(started == 1);
    BOOST_TEST(ex.stats().rounds == 1u);
}

BOOST_AUTO_TEST_CASE(a_moved_from_generator_in_a_yielded_vector_is_thrown_once_the_started_ones_finish) {
    get_batcher gets;
    auto ex = batch::make_executor<ops>(gets, identity_batcher{}, put_batcher{});
    int living = 0;
    int started = 0;
    bool refused = false;
    BOOST_TEST(ex.run(yields_a_vector_with_a_hole(living, started, refused)) == -1);
    BOOST_TEST(refused);
    BOOST_TEST(started == 2); // the generators before the hole; the one after it never ran
    BOOST_TEST(living == 0);  // and both finished
    BOOST_REQUIRE(gets.log->calls.size() == 1u);
    BOOST_TEST(gets.log->calls[0].size() == 2u);
    BOOST_TEST(ex.stats().generators == 3u);
}

namespace {

// Flowing off the end of a coroutine that returns a value is undefined behaviour in C++; clang
// warns about it at compile time (-Wreturn-type), g++ 12 does not. The library checks at run
// time that a result was given before it is taken.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wreturn-type"
#endif
gen<std::string> forgets_its_co_return(int key) {
    int const v = co_yield get{key};
    if (v > 1000) co_return "large";
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

struct base_value {
    virtual ~base_value() = default;
    virtual int value() const = 0;
};
struct derived_value final : base_value {
    int v;
    explicit derived_value(int x) : v(x) {}
    int value() const override { return v; }
};

gen<double> widened(int key) {
    int const v = co_yield get{key};
    co_return v; // int to double: implicit, as `return` allows
}

gen<std::unique_ptr<base_value>> upcast(int key) {
    int const v = co_yield get{key};
    auto made = std::make_unique<derived_value>(v);
    co_return made; // unique_ptr<derived> to unique_ptr<base>: implicit (and moved, as with return)
}

gen<std::vector<int>> braced(int key) {
    int const v = co_yield get{key};
    co_return {v, v + 1};
}

} // namespace

BOOST_AUTO_TEST_CASE(a_generator_that_ends_without_co_return_is_a_usage_error) {
    auto ex = make_test_executor();
    try {
        ex.run(forgets_its_co_return(1));
        BOOST_FAIL("expected batch::usage_error");
    } catch (batch::usage_error const& e) {
        std::string const what = e.what();
        BOOST_TEST(what.find("finished without co_return") != std::string::npos);
        BOOST_TEST(what.find("string") != std::string::npos); // names the result type
    }
    BOOST_TEST(ex.run(forgets_its_co_return(600)) == "large"); // 1200 > 1000
}

BOOST_AUTO_TEST_CASE(co_return_converts_as_return_does) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(widened(3)) == 6.0);
    BOOST_TEST(ex.run(upcast(4))->value() == 8);
    BOOST_TEST((ex.run(braced(5)) == std::vector<int>{10, 11}));
    // What `return` rejects, co_return rejects: explicit conversions do not compile.
    static_assert(!std::is_convertible_v<std::int64_t, std::vector<std::int64_t>>);
    static_assert(!std::is_convertible_v<base_value*, std::unique_ptr<base_value>>);
}

namespace {

// Counts its live instances, so that a test sees a result destroyed.
struct tracked {
    int& live;
    explicit tracked(int& l) : live(l) { ++live; }
    tracked(tracked&& other) noexcept : live(other.live) { ++live; }
    ~tracked() { --live; }
};

struct throws_when_destroyed {
    throws_when_destroyed() = default;
    throws_when_destroyed(throws_when_destroyed const&) = delete;
    ~throws_when_destroyed() noexcept(false) { throw std::runtime_error("thrown by a destructor"); }
};

// Gives its result, then a local's destructor throws: the generator fails after co_return.
gen<tracked> returns_then_a_local_throws(int key, int& live) {
    co_yield get{key};
    throws_when_destroyed const local;
    co_return tracked(live);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_local_that_throws_after_co_return_fails_the_generator_and_destroys_its_result) {
    auto ex = make_test_executor();
    int live = 0;
    BOOST_CHECK_EXCEPTION(
        ex.run(returns_then_a_local_throws(1, live)), std::runtime_error,
        [](std::runtime_error const& e) { return std::string(e.what()) == "thrown by a destructor"; });
    BOOST_TEST(live == 0); // the value given to co_return was destroyed, not leaked
}
