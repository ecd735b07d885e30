#define BOOST_TEST_MODULE scheduling
// batch::scheduling: in completion order, a generator resumes as soon as the batches it waits
// on are in, and what it yields next is submitted while slower batches are still in flight;
// results are those of rounds. Checked on one executor and on a batch::asio::loop.
#include <utility>

#include "socket_store.hpp"

#include <batch/asio/loop.hpp>
#include <batch/batch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace hana = boost::hana;

struct get_slow {
    int key;
    using result_type = int;
};
struct get_fast {
    int key;
    using result_type = int;
};
using ops = batch::operations<get_slow, get_fast>;
template <class T>
using gen = batch::gen<T, ops>;

/// Four steps, alternating between the stores, each key derived from the last answer.
gen<int> chain(int key, bool slow_first) {
    for (int step = 0; step < 4; ++step) {
        bool const slow = (step % 2 == 0) == slow_first;
        key = slow ? co_yield get_slow{key} : co_yield get_fast{key};
        key = key / 2 + 1;
    }
    co_return key;
}

/// Two chains at once: one starts with the slow store, the other with the fast one.
gen<std::tuple<int, int>> both_chains(int key) {
    co_return co_yield hana::make_tuple(chain(key, true), chain(key, false));
}

/// What the chains give: each answer is 2 * key, so each step adds one.
constexpr int expected = 7 + 4;

struct stores {
    test::socket_store slow{30ms};
    test::socket_store fast{1ms};
    test::event_log log;

    auto executor() {
        return batch::make_executor<ops>(test::store_batcher<get_slow>(slow, "slow", &log),
                                         test::store_batcher<get_fast>(fast, "fast", &log));
    }

    /// How many batches of the slow store were submitted while another was in flight.
    std::size_t slow_overlaps() const {
        std::size_t count = 0;
        int slow_in_flight = 0;
        for (auto const& e : log.events) {
            if (e == "submit slow" && slow_in_flight++ > 0) ++count;
            if (e == "done slow") --slow_in_flight;
        }
        return count;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(rounds_wait_for_the_slow_store_at_every_step) {
    stores s;
    auto ex = s.executor();
    BOOST_TEST((ex.scheduling_mode() == batch::scheduling::rounds));
    auto const [a, b] = ex.run(both_chains(7));
    BOOST_TEST(a == expected);
    BOOST_TEST(b == expected);
    BOOST_TEST(ex.stats().rounds == 4u);
    // Each round submits both stores' batches together, then waits for both: a slow batch
    // never starts while another is in flight.
    BOOST_TEST(s.slow_overlaps() == 0u);
    BOOST_TEST(s.log.events.size() == 16u);
}

BOOST_AUTO_TEST_CASE(completion_order_submits_the_next_step_while_the_slow_store_works) {
    stores s;
    auto ex = s.executor();
    ex.set_scheduling(batch::scheduling::completion_order);
    auto const [a, b] = ex.run(both_chains(7));
    BOOST_TEST(a == expected);
    BOOST_TEST(b == expected);
    // The chain that started fast takes its slow step while the other chain's first slow
    // batch is in flight.
    BOOST_TEST(ex.stats().rounds > 4u);
    // Eight steps; two that come due together still share a call.
    BOOST_TEST(ex.stats().batches <= 8u);
    BOOST_TEST(s.slow_overlaps() >= 1u);
    auto const& e = s.log.events;
    auto const first_slow_done = std::find(e.begin(), e.end(), "done slow");
    BOOST_TEST(std::count(e.begin(), first_slow_done, "submit fast") >= 1);
    BOOST_TEST(std::count(e.begin(), first_slow_done, "submit slow") == 2);
    // The executor stays usable, and rounds are back when asked for.
    ex.set_scheduling(batch::scheduling::rounds);
    auto const again = ex.run(both_chains(7));
    BOOST_TEST(std::get<0>(again) == expected);
    BOOST_TEST(ex.stats().rounds == 4u);
}

BOOST_AUTO_TEST_CASE(a_failure_in_completion_order_reaches_the_generator_that_waits) {
    stores s;
    auto ex = s.executor();
    ex.set_scheduling(batch::scheduling::completion_order);
    auto const failing = []() -> gen<int> {
        co_yield get_fast{1};
        throw std::runtime_error("after the fast step");
    };
    auto const both = [&]() -> gen<std::string> {
        try {
            co_yield hana::make_tuple(chain(3, true), failing());
        } catch (std::exception const& e) {
            co_return e.what();
        }
        co_return "";
    };
    BOOST_TEST(ex.run(both()) == "after the fast step");
}

BOOST_AUTO_TEST_CASE(a_loop_resumes_each_request_in_completion_order) {
    stores s;
    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<ops>(io, test::store_batcher<get_slow>(s.slow, "slow", &s.log),
                                            test::store_batcher<get_fast>(s.fast, "fast", &s.log));
    loop.set_scheduling(batch::scheduling::completion_order);
    std::vector<std::future<std::tuple<int, int>>> results;
    for (int i = 0; i < 20; ++i) results.push_back(loop.async_run(both_chains(7), boost::asio::use_future));
    io.run();
    for (auto& r : results) {
        auto const [a, b] = r.get();
        BOOST_TEST(a == expected);
        BOOST_TEST(b == expected);
    }
    BOOST_TEST(s.slow_overlaps() >= 1u);
    // The requests' batches are merged: far fewer than their 160 batches.
    BOOST_TEST(loop.stats().batches <= 16u);
}
