#define BOOST_TEST_MODULE stores
// A PostgreSQL batch and a Redis batch of one round are in flight at the same time: both are
// submitted before either is done, and the round makes one wait for both (the demo's
// `--store both`: users in PostgreSQL, spouse ids in Redis).
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

struct get_name {
    std::int64_t id;
    using result_type = std::optional<std::string>;
};
struct get_spouse_id {
    std::int64_t id;
    using result_type = std::optional<std::string>;
};
using ops = batch::operations<get_name, get_spouse_id>;

batch::gen<std::string, ops> couple(std::int64_t id) {
    auto [name, spouse] = co_yield boost::hana::make_tuple(get_name{id}, get_spouse_id{id});
    co_return name.value_or("?") + " & " + spouse.value_or("?");
}

void exec(std::string const& conninfo, std::string const& sql) {
    PGconn* c = PQconnectdb(conninfo.c_str());
    PGresult* r = PQexec(c, sql.c_str());
    bool const ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    PQfinish(c);
    if (!ok) throw std::runtime_error("failed: " + sql);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_postgres_and_a_redis_batch_are_in_flight_together) {
    auto const env = test::stores_env::read();
    exec(env.postgres, "DROP TABLE IF EXISTS names; CREATE TABLE names (id int8 PRIMARY KEY, name text); "
                       "INSERT INTO names SELECT i, 'name ' || i FROM generate_series(1, 100) AS i");
    batch::redis::connection redis(env.redis);
    {
        auto const n = redis.send({{"SET", "spouse:7", "8"}});
        while (!redis.answered(n)) {
            auto const want = redis.interest();
            pollfd p{want.fd, want.events, 0};
            ::poll(&p, 1, 5000);
            redis.pump(p.revents);
        }
    }
    batch::postgres::connection postgres(env.postgres);
    test::event_log log;
    auto ex = batch::make_executor<ops>(
        test::logged(
            batch::postgres::lookup<get_name>(postgres, "SELECT id, name FROM names WHERE id = ANY($1)", &get_name::id,
                                              [](batch::postgres::row const& r) { return r.get<std::string>(1); }),
            "postgres", log),
        test::logged(batch::redis::get<get_spouse_id>(
                         redis, [](get_spouse_id const& g) { return "spouse:" + std::to_string(g.id); }),
                     "redis", log));
    batch::active_run run(ex, couple(7));
    BOOST_TEST(!run.step());              // the round waits
    BOOST_TEST(run.waits().size() == 2u); // for both connections at once
    BOOST_TEST((log.events == std::vector<std::string>{"submit postgres", "submit redis"}));
    while (!run.step()) batch::io::wait_with_poll(run);
    BOOST_TEST(run.result() == "name 7 & 8");
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats().batches == 2u);
    BOOST_TEST(log.events.size() == 4u);
}
