#define BOOST_TEST_MODULE asio_stores
// Executors that share connections under batch::asio::async_run: 1,000 executors, one
// PostgreSQL and one Redis connection between them, one io_context thread. Each descriptor is
// registered with the io_context once for as long as it is the same socket (before, each run
// registered it for each wait, and every run but one failed with "assign: File exists"); a
// connection reopened under the same descriptor number is registered anew.
#include <utility>

#include "stores_env.hpp"

#include <batch/asio/async_run.hpp>
#include <batch/stores/postgres.hpp>
#include <batch/stores/redis.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/test/unit_test.hpp>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct get_name {
    std::int64_t id;
    using result_type = std::optional<std::string>;
};
struct get_spouse {
    std::int64_t id;
    using result_type = std::optional<std::int64_t>;
};
using ops = batch::operations<get_name, get_spouse>;
template <class T>
using gen = batch::gen<T, ops>;

constexpr std::int64_t people = 1000;

std::int64_t spouse_of(std::int64_t id) { return id % 2 == 1 ? id + 1 : id - 1; }
std::string name_of(std::int64_t id) { return "person " + std::to_string(id); }

gen<std::string> couple(std::int64_t id) {
    auto [name, spouse] = co_yield boost::hana::make_tuple(get_name{id}, get_spouse{id});
    auto const spouse_name = co_yield get_name{spouse.value_or(0)};
    co_return name.value_or("?") + " & " + spouse_name.value_or("?");
}

void load(test::stores_env const& env) {
    PGconn* pg = PQconnectdb(env.postgres.c_str());
    PQsetNoticeProcessor(
        pg, [](void*, char const*) {}, nullptr);
    for (char const* sql :
         {"DROP TABLE IF EXISTS asio_people", "CREATE TABLE asio_people (id int8 PRIMARY KEY, name text)",
          "INSERT INTO asio_people SELECT i, 'person ' || i FROM generate_series(1, 1000) AS i"}) {
        PGresult* r = PQexec(pg, sql);
        bool const ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) throw std::runtime_error(std::string("loading PostgreSQL: ") + PQerrorMessage(pg));
    }
    PQfinish(pg);
    auto const colon = env.redis.rfind(':');
    redisContext* rd = redisConnect(env.redis.substr(0, colon).c_str(), std::stoi(env.redis.substr(colon + 1)));
    if (!rd || rd->err) throw std::runtime_error("loading Redis: cannot connect");
    for (std::int64_t id = 1; id <= people; ++id) {
        auto* reply = static_cast<redisReply*>(redisCommand(rd, "SET asio_spouse:%lld %lld", static_cast<long long>(id),
                                                            static_cast<long long>(spouse_of(id))));
        if (!reply) throw std::runtime_error("loading Redis failed");
        freeReplyObject(reply);
    }
    redisFree(rd);
}

auto make(batch::postgres::connection& pg, batch::redis::connection& rd) {
    return batch::make_executor<ops>(
        batch::postgres::lookup<get_name>(pg, "SELECT id, name FROM asio_people WHERE id = ANY($1)", &get_name::id,
                                          [](batch::postgres::row const& r) { return r.get<std::string>(1); }),
        batch::redis::get<get_spouse>(
            rd, [](get_spouse const& g) { return "asio_spouse:" + std::to_string(g.id); },
            [](std::string_view v) { return std::stoll(std::string(v)); }));
}
using executor_t =
    decltype(make(std::declval<batch::postgres::connection&>(), std::declval<batch::redis::connection&>()));

/// Runs `couple(id)` for every person, each on an executor of its own, all at once on `io`;
/// returns how many came back right.
std::int64_t serve(boost::asio::io_context& io, std::vector<std::unique_ptr<executor_t>>& executors) {
    std::int64_t right = 0;
    std::vector<std::string> failures;
    for (std::int64_t id = 1; id <= people; ++id) {
        batch::asio::async_run(io, *executors[static_cast<std::size_t>(id - 1)], couple(id),
                               [&, id](std::exception_ptr e, std::string const& v) {
                                   if (e) {
                                       try {
                                           std::rethrow_exception(e);
                                       } catch (std::exception const& x) {
                                           if (failures.size() < 3) failures.emplace_back(x.what());
                                       }
                                       return;
                                   }
                                   right += v == name_of(id) + " & " + name_of(spouse_of(id));
                               });
    }
    io.restart();
    io.run();
    for (auto const& f : failures) BOOST_TEST_MESSAGE("failed: " << f);
    return right;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_thousand_executors_share_one_connection_to_each_store) {
    auto const env = test::stores_env::read();
    load(env);
    batch::postgres::connection pg(env.postgres);
    batch::redis::connection rd(env.redis);
    std::vector<std::unique_ptr<executor_t>> executors;
    for (std::int64_t i = 0; i < people; ++i) executors.push_back(std::make_unique<executor_t>(make(pg, rd)));

    boost::asio::io_context io;
    BOOST_TEST(serve(io, executors) == people);
    auto& registry = batch::asio::detail::descriptors::of(io.get_executor());
    BOOST_TEST(registry.registrations() == 2u); // one per connection, for 1,000 runs of 2 rounds

    // A connection reopened (most likely under the same descriptor number) is a new socket: it
    // is registered anew, and the runs on it are served as before.
    pg.reconnect();
    rd.reconnect();
    BOOST_TEST(serve(io, executors) == people);
    BOOST_TEST(registry.registrations() == 4u);
    BOOST_TEST(serve(io, executors) == people);
    BOOST_TEST(registry.registrations() == 4u);
}
