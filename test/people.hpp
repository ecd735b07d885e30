#pragma once

// People in two real stores, for the tests that serve requests over them (loop_restart_test,
// asio_stores_test): each person's name in PostgreSQL (table `people`), her spouse's id in
// Redis (`spouse:ID`), and the program that asks both, in two dependent rounds.

#include <utility>

#include "stores_env.hpp"

#include <batch/stores/postgres.hpp>
#include <batch/stores/redis.hpp>

#include <boost/hana/tuple.hpp>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace test::people {

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

inline std::int64_t spouse_of(std::int64_t id) { return id % 2 == 1 ? id + 1 : id - 1; }
inline std::string name_of(std::int64_t id) { return "person " + std::to_string(id); }

/// Her name, then her spouse's id and name: two rounds, both stores.
inline gen<std::string> couple(std::int64_t id) {
    auto [name, spouse] = co_yield boost::hana::make_tuple(get_name{id}, get_spouse{id});
    auto const spouse_name = co_yield get_name{spouse.value_or(0)};
    co_return name.value_or("?") + " & " + spouse_name.value_or("?");
}

/// What `couple(id)` gives.
inline std::string expected(std::int64_t id) { return name_of(id) + " & " + name_of(spouse_of(id)); }

/// Fills both stores with people 1 to `count` (blocking clients, once).
inline void load(stores_env const& env, std::int64_t count) {
    PGconn* pg = PQconnectdb(env.postgres.c_str());
    PQsetNoticeProcessor(
        pg, [](void*, char const*) {}, nullptr);
    std::string const fill =
        "INSERT INTO people SELECT i, 'person ' || i FROM generate_series(1, " + std::to_string(count) + ") AS i";
    for (std::string const& sql : {std::string("DROP TABLE IF EXISTS people"),
                                   std::string("CREATE TABLE people (id int8 PRIMARY KEY, name text)"), fill}) {
        PGresult* r = PQexec(pg, sql.c_str());
        bool const ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) throw std::runtime_error(std::string("loading PostgreSQL: ") + PQerrorMessage(pg));
    }
    PQfinish(pg);
    auto const colon = env.redis.rfind(':');
    redisContext* rd = redisConnect(env.redis.substr(0, colon).c_str(), std::stoi(env.redis.substr(colon + 1)));
    if (!rd || rd->err) throw std::runtime_error("loading Redis: cannot connect");
    for (std::int64_t id = 1; id <= count; ++id) {
        redisAppendCommand(rd, "SET spouse:%lld %lld", static_cast<long long>(id),
                           static_cast<long long>(spouse_of(id)));
    }
    for (std::int64_t id = 1; id <= count; ++id) {
        void* reply = nullptr;
        if (redisGetReply(rd, &reply) != REDIS_OK) throw std::runtime_error("loading Redis failed");
        freeReplyObject(reply);
    }
    redisFree(rd);
}

/// The batchers: names from PostgreSQL, spouses from Redis.
inline auto names(batch::postgres::connection const& c) {
    return batch::postgres::lookup<get_name>(c, "SELECT id, name FROM people WHERE id = ANY($1)", &get_name::id,
                                             [](batch::postgres::row const& r) { return r.get<std::string>(1); });
}
inline auto spouses(batch::redis::connection const& c) {
    return batch::redis::get<get_spouse>(
        c, [](get_spouse const& g) { return "spouse:" + std::to_string(g.id); },
        [](std::string_view v) { return std::stoll(std::string(v)); });
}

} // namespace test::people
