#define BOOST_TEST_MODULE postgres
// The PostgreSQL batcher against a real server that scripts/stores started for this test run
// (the CTest fixture `stores`; `postgres_restart_test` has servers of its own, which it stops).
#include "stores_env.hpp"
#include "support.hpp"

#include <batch/stores/postgres.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace pg = batch::postgres;

/// Runs a plain command on a connection of its own: the batchers' connection stays in pipeline
/// mode.
void exec(std::string const& sql) {
    PGconn* admin = PQconnectdb(test::stores_env::read().postgres.c_str());
    PGresult* r = PQexec(admin, sql.c_str());
    bool const ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    std::string const why = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(admin);
    if (!ok) throw std::runtime_error(why);
}

struct user {
    std::string name;
    std::int64_t spouse;
    bool operator==(user const&) const = default;
};

struct get_user {
    std::int64_t id;
    using result_type = std::optional<user>;
};
struct must_get_user {
    std::int64_t id;
    using result_type = user;
};
struct get_note {
    std::string name;
    using result_type = std::optional<std::string>;
};
struct broken_query {
    std::int64_t id;
    using result_type = std::optional<user>;
};

user decode_user(pg::row const& r) { return {r.get<std::string>(1), r.get<std::int64_t>(2)}; }

/// The tables, filled once per test program.
struct database {
    test::stores_env env = test::stores_env::read();
    pg::connection conn{env.postgres};

    database() {
        exec("DROP TABLE IF EXISTS users; DROP TABLE IF EXISTS notes");
        exec("CREATE TABLE users (id int8 PRIMARY KEY, name text NOT NULL, spouse int8 NOT NULL)");
        exec("INSERT INTO users SELECT i, 'user ' || i, CASE WHEN i % 2 = 0 THEN i + 1 ELSE i - 1 END "
             "FROM generate_series(0, 99999) AS i");
        exec("CREATE TABLE notes (name text PRIMARY KEY, note text)");
        exec("INSERT INTO notes VALUES ('plain', 'one'), ('it''s \"quoted\"', 'two'), ('a,b,{c}', 'three'), "
             "('Zoë 東京 🚀', 'four'), ('back\\slash', 'five'), ('', 'empty')");
    }
};

database& db() {
    static database d;
    return d;
}

auto user_lookup(pg::connection& c) {
    return pg::lookup<get_user>(c, "SELECT id, name, spouse FROM users WHERE id = ANY($1)", &get_user::id, decode_user);
}

} // namespace

BOOST_AUTO_TEST_CASE(present_and_missing_keys) {
    auto& d = db();
    using ops = batch::operations<get_user, must_get_user>;
    auto ex = batch::make_executor<ops>(
        user_lookup(d.conn), pg::lookup<must_get_user>(d.conn, "SELECT id, name, spouse FROM users WHERE id = ANY($1)",
                                                       &must_get_user::id, decode_user));
    std::vector<get_user> gets{{1}, {-5}, {42}};
    auto const out = ex.run(std::move(gets));
    BOOST_REQUIRE(out.size() == 3u);
    BOOST_TEST((out[0] == user{"user 1", 0}));
    BOOST_TEST(!out[1].has_value()); // "not found" is a result
    BOOST_TEST((out[2] == user{"user 42", 43}));
    BOOST_TEST(ex.stats().batches == 1u);
    BOOST_TEST(ex.run(must_get_user{7}).name == "user 7");
    BOOST_CHECK_THROW(ex.run(must_get_user{-1}), pg::not_found); // unless the result is not optional
}

BOOST_AUTO_TEST_CASE(duplicate_keys_in_one_batch) {
    auto& d = db();
    auto ex = batch::make_executor<batch::operations<get_user>>(user_lookup(d.conn));
    std::vector<get_user> gets{{3}, {3}, {4}, {3}};
    auto const out = ex.run(std::move(gets));
    BOOST_TEST(out[0]->name == "user 3");
    BOOST_TEST(out[1]->name == "user 3");
    BOOST_TEST(out[3]->name == "user 3");
    BOOST_TEST(out[2]->name == "user 4");
}

BOOST_AUTO_TEST_CASE(keys_with_quotes_commas_and_non_ascii_text) {
    auto& d = db();
    auto ex = batch::make_executor<batch::operations<get_note>>(
        pg::lookup<get_note>(d.conn, "SELECT name, note FROM notes WHERE name = ANY($1)", &get_note::name,
                             [](pg::row const& r) { return r.get<std::string>(1); }));
    std::vector<get_note> gets{{"it's \"quoted\""}, {"a,b,{c}"}, {"Zoë 東京 🚀"}, {"back\\slash"}, {""}, {"nowhere"}};
    auto const out = ex.run(std::move(gets));
    BOOST_TEST(out[0].value_or("?") == "two");
    BOOST_TEST(out[1].value_or("?") == "three");
    BOOST_TEST(out[2].value_or("?") == "four");
    BOOST_TEST(out[3].value_or("?") == "five");
    BOOST_TEST(out[4].value_or("?") == "empty");
    BOOST_TEST(!out[5].has_value());
}

BOOST_AUTO_TEST_CASE(an_empty_batch_sends_nothing) {
    auto& d = db();
    auto batcher = user_lookup(d.conn);
    auto pending = batcher.submit(std::span<get_user const>());
    BOOST_TEST(pending.done());
    BOOST_TEST(pending.results().empty());
}

BOOST_AUTO_TEST_CASE(a_batch_of_100000_keys) {
    auto& d = db();
    auto ex = batch::make_executor<batch::operations<get_user>>(user_lookup(d.conn));
    std::vector<get_user> gets;
    for (std::int64_t i = 0; i < 100'000; ++i) gets.push_back({(i * 7919) % 100'010});
    auto const out = ex.run(std::move(gets));
    BOOST_REQUIRE(out.size() == 100'000u);
    std::size_t found = 0, right = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        std::int64_t const id = (static_cast<std::int64_t>(i) * 7919) % 100'010;
        if (out[i]) {
            ++found;
            right += out[i]->name == "user " + std::to_string(id);
        } else {
            right += id >= 100'000;
        }
    }
    BOOST_TEST(right == 100'000u);
    BOOST_TEST(found < 100'000u);
    BOOST_TEST(ex.stats().batches == 1u);
}

BOOST_AUTO_TEST_CASE(ready_form_for_a_table_key_column_and_columns) {
    auto& d = db();
    struct get_row {
        std::int64_t id;
        using result_type = std::optional<std::tuple<std::string, std::int64_t>>;
    };
    auto ex = batch::make_executor<batch::operations<get_row>>(
        pg::table_lookup<get_row, std::string, std::int64_t>(d.conn, "users", "id", {"name", "spouse"}, &get_row::id));
    auto const got = ex.run(get_row{10});
    BOOST_REQUIRE(got.has_value());
    BOOST_TEST(std::get<0>(*got) == "user 10");
    BOOST_TEST(std::get<1>(*got) == 11);
}

BOOST_AUTO_TEST_CASE(an_sql_error_fails_only_its_batch_and_the_connection_goes_on) {
    auto& d = db();
    using ops = batch::operations<get_user, broken_query>;
    auto ex = batch::make_executor<ops>(
        user_lookup(d.conn), pg::lookup<broken_query>(d.conn, "SELECT id, name FROM no_such_table WHERE id = ANY($1)",
                                                      &broken_query::id, decode_user));
    // One round, two batches pipelined on one connection: the broken one fails, the other not.
    auto [good, bad] = ex.run(boost::hana::make_tuple(get_user{5}, test::failure_of<ops>(broken_query{5})));
    BOOST_TEST(good->name == "user 5");
    BOOST_TEST(bad.find("no_such_table") != std::string::npos, bad);
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.run(get_user{6})->name == "user 6"); // the connection is still fine
    BOOST_CHECK_THROW(ex.run(broken_query{1}), pg::error);
    bool lost = false;
    try {
        (void)ex.run(broken_query{1});
    } catch (pg::connection_lost const&) {
        lost = true;
    } catch (pg::error const&) {
    }
    BOOST_TEST(!lost); // an SQL error is not a lost connection
}

namespace {

struct limited_get {
    std::int64_t id;
    using result_type = std::optional<user>;
    static constexpr std::size_t max_batch_size = 10;
};

} // namespace

BOOST_AUTO_TEST_CASE(the_batches_of_a_round_are_pipelined_on_one_connection) {
    auto& d = db();
    auto ex = batch::make_executor<batch::operations<limited_get>>(pg::lookup<limited_get>(
        d.conn, "SELECT id, name, spouse FROM users WHERE id = ANY($1)", &limited_get::id, decode_user));
    std::vector<limited_get> gets;
    for (std::int64_t i = 0; i < 35; ++i) gets.push_back({i});
    auto const out = ex.run(std::move(gets));
    BOOST_TEST(ex.stats().batches == 4u); // four queries in flight together
    BOOST_TEST(out[34]->name == "user 34");
}

BOOST_AUTO_TEST_CASE(a_timeout_cancels_a_slow_query_and_the_connection_drops_its_late_answer) {
    auto& d = db();
    struct slow_get {
        std::int64_t id;
        using result_type = std::optional<user>;
    };
    auto ex = batch::make_executor<batch::operations<slow_get, get_user>>(
        pg::lookup<slow_get>(d.conn, "SELECT id, name, spouse FROM users, pg_sleep(0.3) WHERE id = ANY($1)",
                             &slow_get::id, decode_user)
            .with_timeout(50ms),
        user_lookup(d.conn));
    try {
        ex.run(slow_get{1});
        BOOST_FAIL("a slow query did not time out");
    } catch (batch::timeout_error const& e) {
        std::string const what = e.what(); // names the operation type and the store
        BOOST_TEST(what.find("slow_get") != std::string::npos, what);
        BOOST_TEST(what.find("on postgres") != std::string::npos, what);
    }
    BOOST_TEST(ex.run(get_user{2})->name == "user 2"); // after the late answer, which is dropped
}

BOOST_AUTO_TEST_CASE(a_pool_spreads_the_batches_of_a_round_over_its_connections) {
    auto& d = db();
    pg::pool connections(3, d.env.postgres);
    // Each row tells which server process answered it.
    auto ex = batch::make_executor<batch::operations<limited_get>>(pg::lookup<limited_get>(
        connections, "SELECT k, pg_backend_pid() FROM unnest($1::int8[]) AS k", &limited_get::id, [](pg::row const& r) {
            return user{"", r.get<std::int64_t>(1)};
        }));
    std::vector<limited_get> gets;
    for (std::int64_t i = 0; i < 30; ++i) gets.push_back({i});
    auto const out = ex.run(std::move(gets));
    BOOST_TEST(ex.stats().batches == 3u);
    std::set<std::int64_t> processes;
    for (auto const& u : out) processes.insert(u->spouse);
    BOOST_TEST(processes.size() == 3u); // three queries, on three connections at once
    for (std::size_t i = 0; i < connections.size(); ++i) BOOST_TEST(connections[i].connected());
}

BOOST_AUTO_TEST_CASE(a_failing_decoder_fails_its_operation_naming_the_key_with_its_own_exception_nested) {
    auto& d = db();
    // The note 'one' read as a number: the decoder throws std::invalid_argument.
    struct note_number {
        std::string name;
        using result_type = std::optional<long long>;
    };
    auto ex = batch::make_executor<batch::operations<note_number>>(
        pg::lookup<note_number>(d.conn, "SELECT name, note FROM notes WHERE name = ANY($1)", &note_number::name,
                                [](pg::row const& r) { return std::stoll(r.get<std::string>(1)); }));
    try {
        ex.run(note_number{"plain"});
        BOOST_FAIL("decoding 'one' as a number succeeded");
    } catch (pg::error const& e) {
        std::string const what = e.what();
        BOOST_TEST(what.find("decoding the value at key 'plain' failed: stoll") != std::string::npos, what);
        BOOST_CHECK_THROW(std::rethrow_if_nested(e), std::invalid_argument);
    }
    BOOST_TEST(!ex.run(note_number{"missing"}).has_value()); // the connection goes on
}

BOOST_AUTO_TEST_CASE(the_servers_notices_go_to_the_handler_the_program_sets_and_nowhere_by_default) {
    auto& d = db();
    exec("CREATE OR REPLACE FUNCTION noisy(k int8) RETURNS int8 AS $$ BEGIN RAISE NOTICE 'looking up %', k; "
         "RETURN k; END $$ LANGUAGE plpgsql");
    pg::connection c(d.env.postgres);
    std::vector<std::string> notices;
    c.on_notice([&](std::string_view m) { notices.emplace_back(m); });
    auto ex = batch::make_executor<batch::operations<get_user>>(pg::lookup<get_user>(
        c, "SELECT id, name, spouse FROM users WHERE id = ANY($1) AND noisy(id) = id", &get_user::id, decode_user));
    BOOST_TEST(ex.run(get_user{7})->name == "user 7");
    BOOST_TEST(notices.size() == 1u);
    if (!notices.empty()) BOOST_TEST(notices[0] == "NOTICE:  looking up 7", notices[0]);
    c.on_notice(nullptr); // dropped again
    BOOST_TEST(ex.run(get_user{8})->name == "user 8");
    BOOST_TEST(notices.size() == 1u);
}
