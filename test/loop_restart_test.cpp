#define BOOST_TEST_MODULE loop_restart
// A service under load while its servers restart: 1,000 requests submitted to a
// batch::asio::loop over a second, PostgreSQL and Redis stopped and started again while they
// run. Every request completes, with its result or a store error that says what happened; the
// process goes on; and requests after the restart succeed with no step by the program (the
// connections reopen themselves). Also, plainly: a connection comes back by itself on the batch
// after the server does. These servers are the fixture `stores_restart`'s, which this test
// stops and starts.
#include <utility>

#include "people.hpp"

#include <batch/asio/loop.hpp>
#include <batch/stores/postgres.hpp>
#include <batch/stores/redis.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

using namespace test::people;

constexpr std::int64_t people = 2000;

/// What the requests of a load ended with.
struct tally {
    std::size_t right = 0, wrong = 0, failed = 0;
    std::map<std::string, std::size_t> failures; ///< By exception type and message start.

    auto handler(std::int64_t id) {
        return [this, id](std::exception_ptr e, std::string const& v) {
            if (!e) {
                ++(v == expected(id) ? right : wrong);
                return;
            }
            ++failed;
            try {
                std::rethrow_exception(e);
            } catch (batch::postgres::connection_lost const& x) {
                ++failures["postgres::connection_lost: " + std::string(x.what()).substr(0, 60)];
            } catch (batch::redis::connection_lost const& x) {
                ++failures["redis::connection_lost: " + std::string(x.what()).substr(0, 60)];
            } catch (batch::error const& x) {
                ++failures["batch::error: " + std::string(x.what()).substr(0, 60)];
            } catch (std::exception const& x) {
                ++failures["unexpected: " + std::string(x.what())];
            }
        };
    }

    [[nodiscard]] std::size_t completed() const { return right + wrong + failed; }
};

} // namespace

BOOST_AUTO_TEST_CASE(a_connection_comes_back_by_itself_after_its_server) {
    auto const env = test::stores_env::read("BATCH_STORES_RESTART");
    load(env, people);
    batch::postgres::connection pg(env.postgres);
    batch::redis::connection rd(env.redis);
    auto ex = batch::make_executor<ops>(names(pg), spouses(rd));
    BOOST_TEST(ex.run(couple(1)) == expected(1));
    env.control("pause", "postgres");
    env.control("pause", "redis");
    try {
        ex.run(couple(3));
        BOOST_ERROR("a run with both servers down succeeded");
    } catch (batch::error const& e) {
        std::string const what = e.what();
        BOOST_TEST((what.find("postgres") != std::string::npos || what.find("redis") != std::string::npos), what);
    }
    env.control("resume", "postgres");
    env.control("resume", "redis");
    std::this_thread::sleep_for(1100ms); // past the longest delay between attempts
    BOOST_TEST(ex.run(couple(5)) == expected(5));
    BOOST_TEST(pg.connected());
    BOOST_TEST(rd.connected());
}

BOOST_AUTO_TEST_CASE(a_thousand_requests_through_a_restart_of_both_servers) {
    auto const env = test::stores_env::read("BATCH_STORES_RESTART");
    load(env, people);
    batch::postgres::connection pg(env.postgres);
    batch::redis::connection rd(env.redis);
    boost::asio::io_context io;
    auto loop = batch::asio::make_loop<ops>(io, names(pg), spouses(rd));
    tally during;

    // 1,000 requests, 10 every 2 ms; the servers stop after the first 300 have completed and
    // start again 300 ms later, on a thread of their own.
    std::atomic<std::size_t> completed{0};
    std::atomic<bool> restarted{false};
    std::thread restarter([&] {
        while (completed.load() < 300) std::this_thread::sleep_for(1ms);
        env.control("pause", "postgres");
        env.control("pause", "redis");
        std::this_thread::sleep_for(300ms);
        env.control("resume", "postgres");
        env.control("resume", "redis");
        restarted = true;
    });
    boost::asio::steady_timer pace(io);
    std::int64_t next = 1;
    std::function<void()> submit_some = [&] {
        for (int i = 0; i < 10 && next <= 1000; ++i, ++next) {
            loop.async_run(couple(next), [&, h = during.handler(next)](std::exception_ptr e, std::string const& v) {
                h(e, v);
                ++completed;
            });
        }
        if (next > 1000) return;
        pace.expires_after(2ms);
        pace.async_wait([&](boost::system::error_code const&) { submit_some(); });
    };
    submit_some();
    io.run();
    restarter.join();

    std::string seen;
    for (auto const& [what, count] : during.failures) seen += std::to_string(count) + " x " + what + "\n";
    BOOST_TEST_MESSAGE("during the restart: " << during.right << " right, " << during.failed << " failed:\n" << seen);
    BOOST_TEST(during.completed() == 1000u);
    BOOST_TEST(during.wrong == 0u);
    BOOST_TEST(during.right >= 300u);
    for (auto const& [what, count] : during.failures) BOOST_TEST(what.rfind("unexpected", 0) != 0, what);

    // After the restart, with no step by the program: every request succeeds.
    std::this_thread::sleep_for(1100ms); // past the longest delay between reconnection attempts
    tally after;
    for (std::int64_t id = 1; id <= 200; ++id) loop.async_run(couple(id), after.handler(id));
    io.restart();
    io.run();
    seen.clear();
    for (auto const& [what, count] : after.failures) seen += std::to_string(count) + " x " + what + "\n";
    BOOST_TEST(after.right == 200u, seen);
    BOOST_TEST(after.failed == 0u);
}
