#define BOOST_TEST_MODULE stores_restart
// A server stopped in the middle of a run: the batch in flight fails with a clear error, the
// executor goes on, and after the server is back and the connection reopened, runs work again.
// These servers are this test's own (the CTest fixture `stores_restart`), since it stops them.
#include "stores_env.hpp"
#include "support.hpp"

#include <batch/stores/postgres.hpp>
#include <batch/stores/redis.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

struct get_sleepy {
    std::int64_t id;
    using result_type = std::optional<std::int64_t>;
};
struct blocking_pop {
    std::string list;
    using result_type = std::optional<std::string>;
};

} // namespace

BOOST_AUTO_TEST_CASE(postgres_stopped_while_a_query_runs) {
    auto const env = test::stores_env::read("BATCH_STORES_RESTART");
    batch::postgres::connection conn(env.postgres);
    auto ex = batch::make_executor<batch::operations<get_sleepy>>(batch::postgres::lookup<get_sleepy>(
        conn, "SELECT k, k * 2 FROM unnest($1::int8[]) AS k, pg_sleep(2)", &get_sleepy::id,
        [](batch::postgres::row const& r) { return r.get<std::int64_t>(1); }));
    std::string failure;
    {
        batch::active_run run(ex, get_sleepy{21});
        BOOST_TEST(!run.step()); // the query runs on the server
        env.control("pause", "postgres");
        try {
            while (!run.step()) batch::io::wait_with_poll(run);
            static_cast<void>(run.result());
        } catch (batch::postgres::connection_lost const& e) { // not an SQL error: worth a retry
            failure = e.what();
        }
    } // the run ends here: the executor is free again
    BOOST_TEST(failure.find("terminating connection") != std::string::npos, failure);
    BOOST_TEST(!conn.connected());
    BOOST_CHECK_THROW(ex.run(get_sleepy{1}), batch::postgres::connection_lost); // no silent retry
    env.control("resume", "postgres");
    conn.reconnect();
    auto fast = batch::make_executor<batch::operations<get_sleepy>>(
        batch::postgres::lookup<get_sleepy>(conn, "SELECT k, k * 2 FROM unnest($1::int8[]) AS k", &get_sleepy::id,
                                            [](batch::postgres::row const& r) { return r.get<std::int64_t>(1); }));
    BOOST_TEST(fast.run(get_sleepy{21}).value_or(0) == 42);
}

BOOST_AUTO_TEST_CASE(redis_stopped_while_a_command_waits) {
    auto const env = test::stores_env::read("BATCH_STORES_RESTART");
    batch::redis::connection conn(env.redis);
    auto ex = batch::make_executor<batch::operations<blocking_pop>>(
        batch::redis::command_batcher<
            blocking_pop, std::function<std::vector<std::string>(blocking_pop const&)>,
            std::function<std::optional<std::string>(batch::redis::reply const&, blocking_pop const&)>>(
            conn,
            [](blocking_pop const& b) {
                return std::vector<std::string>{"BLPOP", b.list, "5"};
            },
            [](batch::redis::reply const& r, blocking_pop const&) -> std::optional<std::string> {
                if (r.is_nil()) return std::nullopt;
                return std::string(r[1].text());
            }));
    std::string failure;
    {
        batch::active_run run(ex, blocking_pop{"empty"});
        BOOST_TEST(!run.step()); // BLPOP waits on the server
        env.control("pause", "redis");
        try {
            while (!run.step()) batch::io::wait_with_poll(run);
            static_cast<void>(run.result());
        } catch (batch::redis::connection_lost const& e) {
            failure = e.what();
        }
    } // the run ends here: the executor is free again
    BOOST_TEST(failure.find("batch::redis") != std::string::npos, failure);
    BOOST_TEST(!conn.connected());
    env.control("resume", "redis");
    conn.reconnect();
    auto setter = conn.send({{"RPUSH", "full", "x"}});
    while (!conn.answered(setter)) {
        auto const want = conn.interest();
        pollfd p{want.fd, want.events, 0};
        ::poll(&p, 1, 5000);
        conn.pump(p.revents);
    }
    BOOST_TEST(ex.run(blocking_pop{"full"}).value_or("?") == "x");
}
