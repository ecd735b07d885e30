#define BOOST_TEST_MODULE loop
// batch::asio::loop: requests submitted together on one event loop share their batcher calls
// (one per operation type and key per turn), each keeps its own result, cache, statistics and
// failures, and identical operations of different requests are sent once.
#include <utility>

#include "socket_store.hpp"
#include "support.hpp"

#include <batch/asio/loop.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace hana = boost::hana;

struct get_user {
    int key;
    using result_type = int;
    bool operator==(get_user const&) const = default;
    std::size_t hash() const noexcept { return std::hash<int>{}(key); }
};
struct get_spouse {
    int key;
    using result_type = int;
};
using ops = batch::operations<get_user, get_spouse>;
template <class T>
using gen = batch::gen<T, ops>;

/// Answers `key * 10` and records its calls; fails the operation for key 666 alone.
struct user_batcher {
    std::shared_ptr<test::call_log<get_user>> log = std::make_shared<test::call_log<get_user>>();

    std::vector<batch::outcome<int>> operator()(std::span<get_user const> input) const {
        log->record(input);
        std::vector<batch::outcome<int>> out;
        for (auto const& op : input) {
            if (op.key == 666) {
                out.emplace_back(std::make_exception_ptr(test::boom("no user 666")));
            } else {
                out.emplace_back(op.key * 10);
            }
        }
        return out;
    }
};

/// Everyone's spouse is key + 1.
struct spouse_batcher {
    std::shared_ptr<test::call_log<get_spouse>> log = std::make_shared<test::call_log<get_spouse>>();

    std::vector<int> operator()(std::span<get_spouse const> input) const {
        log->record(input);
        std::vector<int> out;
        for (auto const& op : input) out.push_back(op.key + 1);
        return out;
    }
};

/// Two rounds: a user and the spouse's id together, then the spouse.
gen<int> couple(int id) {
    auto [u, s] = co_yield hana::make_tuple(get_user{id}, get_spouse{id});
    int const spouse = co_yield get_user{s};
    co_return u + spouse;
}

int expected_couple(int id) { return id * 10 + (id + 1) * 10; }

/// Collects what each request's handler gets.
struct results {
    std::vector<std::optional<int>> values;
    std::vector<std::string> errors;

    explicit results(std::size_t n) : values(n), errors(n) {}

    auto handler(std::size_t i) {
        return [this, i](std::exception_ptr e, int v) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (std::exception const& x) {
                    errors[i] = x.what();
                }
            } else {
                values[i] = v;
            }
        };
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(requests_submitted_together_share_their_batcher_calls) {
    boost::asio::io_context io;
    user_batcher users;
    spouse_batcher spouses;
    auto loop = batch::asio::make_loop<ops>(io, users, spouses);
    constexpr std::size_t n = 100;
    results r(n);
    for (std::size_t i = 0; i < n; ++i) loop.async_run(couple(static_cast<int>(i)), r.handler(i));
    io.run();
    for (std::size_t i = 0; i < n; ++i) {
        BOOST_TEST(r.errors[i] == "");
        BOOST_TEST(r.values[i].value_or(-1) == expected_couple(static_cast<int>(i)));
    }
    // Two rounds for all of them: round 1 one call of each type, round 2 one call of get_user.
    BOOST_TEST(users.log->calls.size() == 2u);
    BOOST_TEST(spouses.log->calls.size() == 1u);
    BOOST_TEST(spouses.log->calls[0].size() == n);
    auto const s = loop.stats();
    BOOST_TEST(s.requests == n);
    BOOST_TEST(s.completed == n);
    BOOST_TEST(s.failed == 0u);
    BOOST_TEST(s.batches == 3u);
    BOOST_TEST(s.turns == 2u);
    BOOST_TEST(s.largest_batch == n);
}

namespace {

/// Deduplicated and cached within a request; identical ones of different requests in one turn
/// are sent once.
struct lookup {
    int key;
    using result_type = int;
    static constexpr bool cacheable = true;
    bool operator==(lookup const&) const = default;
    std::size_t hash() const noexcept { return std::hash<int>{}(key); }
};
/// Grouped by table into separate calls, at most 3 per call.
struct row {
    int table;
    int key;
    using result_type = int;
    int batch_key() const noexcept { return table; }
    static constexpr std::size_t max_batch_size = 3;
};
using more_ops = batch::operations<lookup, row>;
template <class T>
using more_gen = batch::gen<T, more_ops>;

/// Answers each lookup with how many lookups of that key were sent so far, so that a result
/// served from another request's cache would show.
struct counting_lookups {
    std::shared_ptr<test::call_log<lookup>> log = std::make_shared<test::call_log<lookup>>();
    std::shared_ptr<std::map<int, int>> sent = std::make_shared<std::map<int, int>>();

    std::vector<int> operator()(std::span<lookup const> input) const {
        log->record(input);
        std::vector<int> out;
        for (auto const& op : input) out.push_back(++(*sent)[op.key]);
        return out;
    }
};

struct row_batcher {
    std::shared_ptr<test::call_log<row>> log = std::make_shared<test::call_log<row>>();

    std::vector<int> operator()(std::span<row const> input) const {
        log->record(input);
        for (auto const& op : input) {
            if (op.table != input.front().table) throw std::logic_error("two tables in one call");
        }
        std::vector<int> out;
        for (auto const& op : input) out.push_back(op.table * 1000 + op.key);
        return out;
    }
};

more_gen<int> look(int key) { co_return co_yield lookup{key}; }

more_gen<int> look_twice(int first, int second) {
    int const a = co_yield lookup{first};
    int const b = co_yield lookup{second};
    co_return a * 100 + b;
}

} // namespace

BOOST_AUTO_TEST_CASE(identical_operations_of_requests_in_one_turn_are_sent_once_and_counted) {
    boost::asio::io_context io;
    counting_lookups lookups;
    auto loop = batch::asio::make_loop<more_ops>(io, lookups, row_batcher{});
    constexpr std::size_t n = 10;
    results r(n);
    for (std::size_t i = 0; i < n; ++i) loop.async_run(look(7), r.handler(i));
    io.run();
    for (std::size_t i = 0; i < n; ++i) BOOST_TEST(r.values[i].value_or(-1) == 1);
    BOOST_TEST(lookups.log->calls.size() == 1u);
    BOOST_TEST(lookups.log->calls[0].size() == 1u);
    BOOST_TEST(loop.stats().deduplicated == n - 1);
    BOOST_TEST(loop.stats().operations == 1u);
}

BOOST_AUTO_TEST_CASE(no_result_cached_for_one_request_is_served_to_another) {
    boost::asio::io_context io;
    counting_lookups lookups;
    auto loop = batch::asio::make_loop<more_ops>(io, lookups, row_batcher{});
    results r(2);
    // Request 0 looks up 1 twice: the second answer comes from its own cache. Request 1 looks
    // up 2, then 1: its lookup of 1 goes to the batcher, which has answered 1 once before.
    loop.async_run(look_twice(1, 1), r.handler(0));
    loop.async_run(look_twice(2, 1), r.handler(1));
    io.run();
    BOOST_TEST(r.values[0].value_or(-1) == 101);
    BOOST_TEST(r.values[1].value_or(-1) == 102);
    BOOST_TEST((*lookups.sent)[1] == 2);
    BOOST_TEST(lookups.log->calls.size() == 2u);
}

BOOST_AUTO_TEST_CASE(keys_and_batch_size_limits_hold_across_requests) {
    boost::asio::io_context io;
    row_batcher rows;
    auto loop = batch::asio::make_loop<more_ops>(io, counting_lookups{}, rows);
    constexpr int n = 8;
    results r(n);
    auto const one_row = [](int table, int key) -> more_gen<int> { co_return co_yield row{table, key}; };
    for (int i = 0; i < n; ++i) loop.async_run(one_row(i % 2, i), r.handler(static_cast<std::size_t>(i)));
    io.run();
    for (int i = 0; i < n; ++i) BOOST_TEST(r.values[static_cast<std::size_t>(i)].value_or(-1) == (i % 2) * 1000 + i);
    // Two tables of four rows each, at most three per call: 3 + 1 per table.
    BOOST_TEST(rows.log->calls.size() == 4u);
    for (auto const& call : rows.log->calls) BOOST_TEST(call.size() <= 3u);
    BOOST_TEST(loop.stats().largest_batch == 3u);
}

BOOST_AUTO_TEST_CASE(a_failure_ends_its_own_request_alone) {
    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<ops>(io, user_batcher{}, spouse_batcher{});
    auto const throws_after_a_round = [](int id) -> gen<int> {
        co_yield get_user{id};
        throw test::boom("request " + std::to_string(id) + " failed");
    };
    results r(4);
    loop.async_run(couple(1), r.handler(0));
    loop.async_run(throws_after_a_round(2), r.handler(1));
    loop.async_run(couple(665), r.handler(2)); // its spouse is 666, whose lookup fails alone
    loop.async_run(couple(3), r.handler(3));
    io.run();
    BOOST_TEST(r.values[0].value_or(-1) == expected_couple(1));
    BOOST_TEST(r.errors[1] == "request 2 failed");
    BOOST_TEST(r.errors[2] == "no user 666");
    BOOST_TEST(r.values[3].value_or(-1) == expected_couple(3));
    BOOST_TEST(loop.stats().completed == 4u);
    BOOST_TEST(loop.stats().failed == 2u);
}

BOOST_AUTO_TEST_CASE(a_batcher_that_throws_fails_the_operations_of_every_request_in_its_call) {
    boost::asio::io_context io;
    auto failing = [](std::span<get_spouse const>) -> std::vector<int> { throw test::boom("spouses are down"); };
    auto loop = batch::asio::make_loop<ops>(io, user_batcher{}, failing);
    results r(3);
    auto const user_only = [](int id) -> gen<int> { co_return co_yield get_user{id}; };
    loop.async_run(couple(1), r.handler(0));
    loop.async_run(user_only(2), r.handler(1));
    loop.async_run(couple(3), r.handler(2));
    io.run();
    BOOST_TEST(r.errors[0] == "spouses are down");
    BOOST_TEST(r.values[1].value_or(-1) == 20);
    BOOST_TEST(r.errors[2] == "spouses are down");
}

BOOST_AUTO_TEST_CASE(a_request_submitted_while_others_run_joins_the_next_turn) {
    boost::asio::io_context io;
    user_batcher users;
    auto loop = batch::asio::make_loop<ops>(io, users, spouse_batcher{});
    results r(3);
    loop.async_run(couple(1), [&](std::exception_ptr e, int v) {
        r.handler(0)(e, v);
        loop.async_run(couple(2), r.handler(1)); // from a completion handler, on the loop's thread
    });
    loop.async_run(couple(3), r.handler(2));
    io.run();
    for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(r.errors[i] == "");
    BOOST_TEST(r.values[0].value_or(-1) == expected_couple(1));
    BOOST_TEST(r.values[1].value_or(-1) == expected_couple(2));
    BOOST_TEST(r.values[2].value_or(-1) == expected_couple(3));
}

BOOST_AUTO_TEST_CASE(futures_void_results_and_generators_driven_in_place) {
    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<ops>(io, user_batcher{}, spouse_batcher{});
    auto g = couple(4);
    auto in_place = loop.async_run(g, boost::asio::use_future);
    auto const nothing = [](int id) -> gen<void> { co_yield get_user{id}; };
    auto done = loop.async_run(nothing(5), boost::asio::use_future);
    auto tuple = loop.async_run(hana::make_tuple(get_user{1}, couple(2)), boost::asio::use_future);
    io.run();
    BOOST_TEST(in_place.get() == expected_couple(4));
    done.get();
    auto const [u, c] = tuple.get();
    BOOST_TEST(u == 10);
    BOOST_TEST(c == expected_couple(2));
    // A finished generator cannot run again: usage_error, through the future.
    auto again = loop.async_run(g, boost::asio::use_future);
    io.restart();
    io.run();
    BOOST_CHECK_THROW(again.get(), batch::usage_error);
}

BOOST_AUTO_TEST_CASE(requests_still_running_when_the_loop_is_destroyed_end_with_usage_error) {
    boost::asio::io_context io;
    results r(2);
    {
        auto loop = batch::asio::make_loop<ops>(io, user_batcher{}, spouse_batcher{});
        loop.async_run(couple(1), r.handler(0));
        loop.async_run(couple(2), r.handler(1));
        io.run_one(); // starts the first request, no more
    }
    io.run();
    BOOST_TEST(r.errors[0].find("loop was destroyed") != std::string::npos);
    BOOST_TEST(r.errors[1].find("loop was destroyed") != std::string::npos);
}

namespace {

using store_ops = batch::operations<get_user, get_spouse>;
using store_loop_t = decltype(batch::asio::make_loop<store_ops>(std::declval<boost::asio::io_context&>(),
                                                                std::declval<test::store_batcher<get_user>>(),
                                                                std::declval<test::store_batcher<get_spouse>>()));

/// Two rounds against the socket stores, whose answer is 2 * key: 2id + 2id + 4id.
gen<int> store_couple(int id) {
    auto [u, s] = co_yield hana::make_tuple(get_user{id}, get_spouse{id});
    int const again = co_yield get_user{s};
    co_return u + s + again;
}

} // namespace

BOOST_AUTO_TEST_CASE(asynchronous_batchers_carry_the_batches_of_many_requests) {
    test::allow_many_descriptors();
    test::socket_store users(1ms), spouses(1ms);
    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<store_ops>(io, test::store_batcher<get_user>(users, "users"),
                                                  test::store_batcher<get_spouse>(spouses, "spouses"));
    static_assert(std::is_same_v<decltype(loop), store_loop_t>);
    constexpr std::size_t n = 500;
    results r(n);
    for (std::size_t i = 0; i < n; ++i) loop.async_run(store_couple(static_cast<int>(i)), r.handler(i));
    io.run();
    std::size_t right = 0;
    for (std::size_t i = 0; i < n; ++i) right += r.errors[i].empty() && r.values[i] == 8 * static_cast<int>(i);
    BOOST_TEST(right == n);
    // Two batches to the users' store and one to the spouses', where 500 executors would send
    // 1,000 and 500.
    BOOST_TEST(users.requests() == 2u);
    BOOST_TEST(spouses.requests() == 1u);
    BOOST_TEST(loop.stats().batches == 3u);
}

BOOST_AUTO_TEST_CASE(a_request_submitted_while_a_batch_is_in_flight_is_answered_in_a_later_batch) {
    test::socket_store users(5ms), spouses(1ms);
    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<store_ops>(io, test::store_batcher<get_user>(users, "users"),
                                                  test::store_batcher<get_spouse>(spouses, "spouses"));
    results r(2);
    loop.async_run(store_couple(1), r.handler(0));
    boost::asio::steady_timer later(io, 2ms);
    later.async_wait([&](boost::system::error_code const&) { loop.async_run(store_couple(2), r.handler(1)); });
    io.run();
    BOOST_TEST(r.values[0].value_or(-1) == 8);
    BOOST_TEST(r.values[1].value_or(-1) == 16);
    BOOST_TEST(r.errors[0] == "");
    BOOST_TEST(r.errors[1] == "");
}

BOOST_AUTO_TEST_CASE(a_batch_past_its_batchers_timeout_fails_with_the_operation_type_named) {
    test::socket_store users(200ms), spouses(1ms);
    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<store_ops>(io, test::store_batcher<get_user>(users, "users", nullptr, 20ms),
                                                  test::store_batcher<get_spouse>(spouses, "spouses"));
    results r(2);
    loop.async_run(store_couple(1), r.handler(0));
    loop.async_run(store_couple(2), r.handler(1));
    io.run();
    for (std::size_t i = 0; i < 2; ++i) {
        BOOST_TEST(r.errors[i].find("did not finish within its batcher's timeout()") != std::string::npos);
        BOOST_TEST(r.errors[i].find("get_user") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_later_request_on_a_reused_executor_finds_no_earlier_requests_cache) {
    boost::asio::io_context io;
    counting_lookups lookups;
    auto loop = batch::asio::make_loop<more_ops>(io, lookups, row_batcher{});
    results r(2);
    loop.async_run(look(5), [&](std::exception_ptr e, int v) {
        r.handler(0)(e, v);
        loop.async_run(look(5), r.handler(1)); // after the first has ended: its executor is free
    });
    io.run();
    BOOST_TEST(r.values[0].value_or(-1) == 1);
    BOOST_TEST(r.values[1].value_or(-1) == 2); // sent again, not served from the first's cache
    BOOST_TEST(lookups.log->calls.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_request_past_its_deadline_ends_alone_and_its_next_operations_are_never_sent) {
    test::socket_store users(150ms), spouses(1ms);
    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<store_ops>(io, test::store_batcher<get_user>(users, "users"),
                                                  test::store_batcher<get_spouse>(spouses, "spouses"));
    auto const user_then_spouse = [](int id) -> gen<int> {
        int const u = co_yield get_user{id};
        int const s = co_yield get_spouse{id};
        co_return u + s;
    };
    results r(2);
    auto const started = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration ended_after{};
    loop.async_run(user_then_spouse(1), 20ms, [&](std::exception_ptr e, int v) {
        ended_after = std::chrono::steady_clock::now() - started;
        r.handler(0)(e, v);
    });
    loop.async_run(user_then_spouse(2), r.handler(1)); // shares the users' batch, has no deadline
    io.run();
    BOOST_TEST(r.errors[0].find("did not finish within its timeout of 20 ms") != std::string::npos, r.errors[0]);
    BOOST_TEST(r.values[1].value_or(-1) == 4 + 4);
    BOOST_TEST(ended_after < 150ms);      // it did not wait for the batch it was in
    BOOST_TEST(spouses.requests() == 1u); // request 2's; request 1's get_spouse was never sent
    BOOST_TEST(loop.stats().failed == 1u);
    BOOST_TEST(loop.stats().completed == 2u);
}

BOOST_AUTO_TEST_CASE(a_request_that_finishes_before_its_deadline_is_not_touched_by_it) {
    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<ops>(io, user_batcher{}, spouse_batcher{});
    results r(1);
    loop.async_run(couple(1), 50ms, r.handler(0));
    // A second request after the first has ended reuses its executor: the first's deadline must
    // not end it.
    boost::asio::steady_timer later(io, 10ms);
    results r2(1);
    later.async_wait([&](boost::system::error_code const&) {
        auto const slow = [](int id) -> gen<int> { co_return co_yield get_user{id}; };
        loop.async_run(slow(3), r2.handler(0));
    });
    boost::asio::steady_timer past_deadline(io, 80ms);
    past_deadline.async_wait([](boost::system::error_code const&) {});
    io.run();
    BOOST_TEST(r.values[0].value_or(-1) == expected_couple(1));
    BOOST_TEST(r2.values[0].value_or(-1) == 30);
    BOOST_TEST(loop.stats().failed == 0u);
}

BOOST_AUTO_TEST_CASE(with_a_limit_on_batches_in_flight_requests_wait_and_gather_and_none_is_dropped) {
    test::socket_store users(100ms), spouses(1ms);
    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<store_ops>(io, test::store_batcher<get_user>(users, "users"),
                                                  test::store_batcher<get_spouse>(spouses, "spouses"));
    loop.set_max_in_flight(1);
    auto const one_user = [](int id) -> gen<int> { co_return co_yield get_user{id}; };
    // Ten requests, one every 2 ms: the first batch is out alone, the nine that come while it
    // is in flight wait, then go as one batch.
    constexpr std::size_t n = 10;
    results r(n);
    boost::asio::steady_timer pace(io);
    std::size_t next = 0;
    std::function<void()> submit = [&] {
        loop.async_run(one_user(static_cast<int>(next)), r.handler(next));
        if (++next == n) return;
        pace.expires_after(2ms);
        pace.async_wait([&](boost::system::error_code const&) { submit(); });
    };
    submit();
    io.run();
    std::size_t right = 0;
    for (std::size_t i = 0; i < n; ++i) right += r.values[i] == 2 * static_cast<int>(i);
    BOOST_TEST(right == n);
    BOOST_TEST(users.requests() == 2u);
    BOOST_TEST(loop.stats().batches == 2u);
}
