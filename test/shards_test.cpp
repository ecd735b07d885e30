#define BOOST_TEST_MODULE shards
// PostgreSQL shards: one table split by key over three real servers (the CTest fixture
// `stores_shards`, started by scripts/stores), read through batch::stores::sharded over one
// lookup batcher per server: a batch is split by shard, the parts are in flight together, the
// answers are joined in order; a shard that is down fails only its keys' operations, with its
// server's message, and comes back by itself after its server.
#include "stores_env.hpp"

#include <batch/batch.hpp>
#include <batch/stores/postgres.hpp>
#include <batch/stores/sharded.hpp>

#include <boost/test/unit_test.hpp>

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace pg = batch::postgres;

struct get_name {
    std::int64_t id;
    using result_type = std::optional<std::string>;
};
using ops = batch::operations<get_name>;

struct shards_env {
    std::string dir;
    std::vector<std::string> servers;

    static shards_env read() {
        char const* path = std::getenv("BATCH_STORES_SHARDS");
        if (!path) throw std::runtime_error("BATCH_STORES_SHARDS is not set: run the shards test through ctest");
        shards_env e;
        e.dir = std::string(path).substr(0, std::string(path).rfind('/'));
        std::ifstream in(path);
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("BATCH_POSTGRES_SHARDS=", 0) != 0) continue;
            std::string v = line.substr(line.find('=') + 2);
            v.pop_back();
            for (std::size_t at = 0; at <= v.size();) {
                auto const semi = std::min(v.find(';', at), v.size());
                e.servers.push_back(v.substr(at, semi - at));
                at = semi + 1;
            }
        }
        return e;
    }

    void control(std::string const& command, std::string const& shard) const {
        char const* script = std::getenv("BATCH_STORES_SCRIPT");
        std::string const line = std::string(script) + " " + command + " " + shard + " " + dir;
        if (std::system(line.c_str()) != 0) throw std::runtime_error("failed: " + line);
    }
};

void exec(std::string const& conninfo, std::string const& sql) {
    PGconn* c = PQconnectdb(conninfo.c_str());
    PQsetNoticeProcessor(
        c, [](void*, char const*) {}, nullptr);
    PGresult* r = PQexec(c, sql.c_str());
    bool const ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    std::string const why = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    if (!ok) throw std::runtime_error(why);
}

std::size_t shard_of(get_name const& g) { return static_cast<std::size_t>(g.id % 3); }

/// Each shard holds the ids it serves, named after their shard.
void load(shards_env const& env) {
    for (std::size_t s = 0; s < env.servers.size(); ++s) {
        exec(env.servers[s], "DROP TABLE IF EXISTS users");
        exec(env.servers[s], "CREATE TABLE users (id int8 PRIMARY KEY, name text NOT NULL)");
        exec(env.servers[s], "INSERT INTO users SELECT i, 'user ' || i || ' on shard " + std::to_string(s)
                                 + "' FROM generate_series(0, 2999) AS i WHERE i % 3 = " + std::to_string(s));
    }
}

std::string name_of(std::int64_t id) { return "user " + std::to_string(id) + " on shard " + std::to_string(id % 3); }

struct fixture {
    shards_env env = shards_env::read();
    std::vector<std::unique_ptr<pg::connection>> connections;

    fixture() {
        load(env);
        for (auto const& s : env.servers) connections.push_back(std::make_unique<pg::connection>(s));
    }

    auto batcher() {
        using shard_t = decltype(pg::lookup<get_name>(*connections[0], "", &get_name::id, decode));
        std::vector<shard_t> shards;
        for (auto& c : connections) {
            shards.push_back(
                pg::lookup<get_name>(*c, "SELECT id, name FROM users WHERE id = ANY($1)", &get_name::id, decode));
        }
        return batch::stores::sharded<get_name>(std::move(shards), &shard_of);
    }

    static std::string decode(pg::row const& r) { return r.get<std::string>(1); }
};

std::vector<get_name> ids(std::int64_t from, std::int64_t to) {
    std::vector<get_name> out;
    for (std::int64_t i = from; i < to; ++i) out.push_back({i});
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_batch_is_split_by_shard_and_joined_in_order) {
    fixture f;
    BOOST_TEST(f.env.servers.size() == 3u);
    auto ex = batch::make_executor<ops>(f.batcher());
    auto gets = ids(0, 3000);
    gets.push_back({5000}); // on no shard's table: nothing
    auto const out = ex.run(gets);
    BOOST_TEST(ex.stats().batches == 1u);
    std::size_t right = 0;
    for (std::int64_t i = 0; i < 3000; ++i) right += out[static_cast<std::size_t>(i)] == name_of(i);
    BOOST_TEST(right == 3000u);
    BOOST_TEST(!out[3000].has_value());
}

BOOST_AUTO_TEST_CASE(a_shard_that_is_down_fails_only_its_keys_and_comes_back_by_itself) {
    fixture f;
    auto ex = batch::make_executor<ops>(f.batcher());
    BOOST_TEST(ex.run(get_name{4}).value_or("?") == name_of(4));
    f.env.control("pause", "shard2"); // the shard of ids with id % 3 == 1
    auto const out = ex.run(batch::settle(ids(0, 300)));
    std::size_t right = 0, lost = 0;
    for (std::int64_t i = 0; i < 300; ++i) {
        auto const& o = out[static_cast<std::size_t>(i)];
        if (i % 3 == 1) {
            try {
                std::rethrow_exception(o.error());
            } catch (pg::connection_lost const& e) {
                lost += std::string(e.what()).find("batch::postgres") != std::string::npos;
            } catch (...) {
            }
        } else {
            right += o.has_value() && o.value() == name_of(i);
        }
    }
    BOOST_TEST(right == 200u);
    BOOST_TEST(lost == 100u);
    f.env.control("resume", "shard2");
    std::this_thread::sleep_for(1100ms); // past the longest delay between reconnection attempts
    auto const again = ex.run(ids(0, 300));
    std::size_t back = 0;
    for (std::int64_t i = 0; i < 300; ++i) back += again[static_cast<std::size_t>(i)] == name_of(i);
    BOOST_TEST(back == 300u);
}
