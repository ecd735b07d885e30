#pragma once

// The stores across a network: PostgreSQL (table users) and Redis (keys name:<id> and
// spouse:<id>), each loaded with the graph, each with asynchronous batchers and a naive client
// that sends one query per item.

#include "graph.hpp"
#include "program.hpp"

#include <batch/stores/postgres.hpp>
#include <batch/stores/redis.hpp>
#include <batch/stores/redis/cluster.hpp>
#include <batch/stores/sharded.hpp>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace demo {

/// A plain, blocking libpq connection: for loading, and for the naive client.
class postgres_client {
public:
    explicit postgres_client(std::string const& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
        if (PQstatus(c_) != CONNECTION_OK) throw std::runtime_error(std::string("PostgreSQL: ") + PQerrorMessage(c_));
        PQsetNoticeProcessor(
            c_, [](void*, char const*) {}, nullptr); // "table users does not exist, skipping"
    }
    postgres_client(postgres_client const&) = delete;
    postgres_client& operator=(postgres_client const&) = delete;
    ~postgres_client() { PQfinish(c_); }

    void exec(std::string const& sql, std::vector<std::string> const& params = {}) {
        std::vector<char const*> values;
        for (auto const& p : params) values.push_back(p.c_str());
        result r(PQexecParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                              nullptr, 0));
        check(r.get());
    }

    /// Loads the users, or, for shard `shard` of `shards`, those whose id % shards == shard.
    void load(graph const& g, std::int64_t shard = 0, std::int64_t shards = 1) {
        exec("DROP TABLE IF EXISTS users");
        exec("CREATE TABLE users (id int8 PRIMARY KEY, name text NOT NULL, spouse_id int8)");
        for (std::int64_t first = 1; first <= g.size(); first += 10'000) {
            std::string ids = "{", names = "{", spouses = "{";
            char const* comma = "";
            for (std::int64_t id = first; id < std::min(first + 10'000, g.size() + 1); ++id) {
                if (id % shards != shard) continue;
                auto const i = static_cast<std::size_t>(id);
                ids.append(comma).append(std::to_string(id));
                names.append(comma).append("\"").append(g.names[i]).append("\"");
                spouses.append(comma).append(g.spouse[i] ? std::to_string(*g.spouse[i]) : "NULL");
                comma = ",";
            }
            exec("INSERT INTO users SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[])",
                 {ids + "}", names + "}", spouses + "}"});
        }
        exec("ANALYZE users");
        exec("PREPARE name_of (int8) AS SELECT name FROM users WHERE id = $1");
        exec("PREPARE spouse_of (int8) AS SELECT spouse_id FROM users WHERE id = $1");
    }

    std::size_t queries = 0;

    /// The naive client: one query, one round trip, per item.
    std::optional<std::string> name(std::int64_t id) { return one("EXECUTE name_of(" + std::to_string(id) + ")"); }
    std::optional<std::int64_t> spouse(std::int64_t id) {
        auto const s = one("EXECUTE spouse_of(" + std::to_string(id) + ")");
        if (!s) return std::nullopt;
        return std::stoll(*s);
    }

private:
    struct deleter {
        void operator()(PGresult* r) const noexcept { PQclear(r); }
    };
    using result = std::unique_ptr<PGresult, deleter>;

    std::optional<std::string> one(std::string const& sql) {
        ++queries;
        result r(PQexec(c_, sql.c_str()));
        check(r.get());
        if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::nullopt;
        return std::string(PQgetvalue(r.get(), 0, 0));
    }

    void check(PGresult const* r) const {
        auto const s = PQresultStatus(r);
        if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
            throw std::runtime_error(std::string("PostgreSQL: ") + PQresultErrorMessage(r));
        }
    }

    PGconn* c_;
};

/// A plain, blocking hiredis connection: for loading, and for the naive client.
class redis_client {
public:
    explicit redis_client(std::string const& address) {
        auto const colon = address.rfind(':');
        c_.reset(redisConnect(address.substr(0, colon).c_str(), std::stoi(address.substr(colon + 1))));
        if (!c_ || c_->err) throw std::runtime_error("Redis: cannot connect to " + address);
    }

    void load(graph const& g) {
        command({"FLUSHALL"});
        for (std::int64_t first = 1; first <= g.size(); first += 1'000) {
            std::vector<std::string> mset{"MSET"};
            for (std::int64_t id = first; id < std::min(first + 1'000, g.size() + 1); ++id) {
                auto const i = static_cast<std::size_t>(id);
                mset.push_back("name:" + std::to_string(id));
                mset.push_back(g.names[i]);
                if (g.spouse[i]) {
                    mset.push_back("spouse:" + std::to_string(id));
                    mset.push_back(std::to_string(*g.spouse[i]));
                }
            }
            command(mset);
        }
    }

    /// Sends `commands` one after another, then reads their replies (one round trip).
    void pipeline(std::vector<std::vector<std::string>> const& commands) {
        for (auto const& args : commands) {
            std::vector<char const*> argv;
            std::vector<std::size_t> lengths;
            for (auto const& a : args) {
                argv.push_back(a.data());
                lengths.push_back(a.size());
            }
            redisAppendCommandArgv(c_.get(), static_cast<int>(argv.size()), argv.data(), lengths.data());
        }
        for (std::size_t i = 0; i < commands.size(); ++i) {
            void* raw = nullptr;
            if (redisGetReply(c_.get(), &raw) != REDIS_OK) throw std::runtime_error("Redis: pipeline failed");
            std::unique_ptr<redisReply, deleter> r(static_cast<redisReply*>(raw));
            if (r->type == REDIS_REPLY_ERROR) throw std::runtime_error("Redis: " + std::string(r->str, r->len));
        }
    }

    std::size_t queries = 0;

    /// The naive client: one GET, one round trip, per item.
    std::optional<std::string> name(std::int64_t id) { return get("name:" + std::to_string(id)); }
    std::optional<std::int64_t> spouse(std::int64_t id) {
        auto const s = get("spouse:" + std::to_string(id));
        if (!s) return std::nullopt;
        return std::stoll(*s);
    }

private:
    struct deleter {
        void operator()(redisContext* c) const noexcept { redisFree(c); }
        void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
    };

    std::unique_ptr<redisReply, deleter> command(std::vector<std::string> const& args) {
        std::vector<char const*> argv;
        std::vector<std::size_t> lengths;
        for (auto const& a : args) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
        }
        std::unique_ptr<redisReply, deleter> r(static_cast<redisReply*>(
            redisCommandArgv(c_.get(), static_cast<int>(argv.size()), argv.data(), lengths.data())));
        if (!r || r->type == REDIS_REPLY_ERROR) throw std::runtime_error("Redis: command failed");
        return r;
    }

    std::optional<std::string> get(std::string const& key) {
        ++queries;
        auto const r = command({"GET", key});
        if (r->type == REDIS_REPLY_NIL) return std::nullopt;
        return std::string(r->str, r->len);
    }

    std::unique_ptr<redisContext, deleter> c_;
};

/// A Redis Cluster through blocking connections, one per master (for loading, and for the
/// naive client): each key goes to the master of its slot.
class redis_cluster_client {
public:
    explicit redis_cluster_client(batch::redis::cluster& c) : cluster_(&c) {}

    void load(graph const& g) {
        std::map<std::string, std::vector<std::vector<std::string>>> by_master;
        for (std::int64_t id = 1; id <= g.size(); ++id) {
            auto const i = static_cast<std::size_t>(id);
            if (!g.spouse[i]) continue;
            std::string key = "spouse:" + std::to_string(id);
            auto const& master = cluster_->address_of(batch::redis::slot_of(key));
            by_master[master].push_back({"SET", std::move(key), std::to_string(*g.spouse[i])});
        }
        for (auto const& [master, commands] : by_master) client(master).pipeline(commands);
    }

    std::size_t queries() const {
        std::size_t n = 0;
        for (auto const& [address, c] : clients_) n += c->queries;
        return n;
    }

    std::optional<std::int64_t> spouse(std::int64_t id) {
        return client(cluster_->address_of(batch::redis::slot_of("spouse:" + std::to_string(id)))).spouse(id);
    }

private:
    redis_client& client(std::string const& address) {
        auto& c = clients_[address];
        if (!c) c = std::make_unique<redis_client>(address);
        return *c;
    }

    batch::redis::cluster* cluster_;
    std::map<std::string, std::unique_ptr<redis_client>> clients_;
};

/// The naive client of `--store cluster`: names from the PostgreSQL shard of the id, spouses
/// from the Redis master of the key.
struct cluster_clients {
    std::vector<std::unique_ptr<postgres_client>>& shards;
    redis_cluster_client& spouses;
    std::optional<std::string> name(std::int64_t id) {
        return shards[static_cast<std::size_t>(id % static_cast<std::int64_t>(shards.size()))]->name(id);
    }
    std::optional<std::int64_t> spouse(std::int64_t id) { return spouses.spouse(id); }
    std::size_t queries() const {
        std::size_t n = spouses.queries();
        for (auto const& s : shards) n += s->queries;
        return n;
    }
};

/// The naive client of `--store both`: names from PostgreSQL, spouses from Redis.
struct both_clients {
    postgres_client& names;
    redis_client& spouses;
    std::optional<std::string> name(std::int64_t id) { return names.name(id); }
    std::optional<std::int64_t> spouse(std::int64_t id) { return spouses.spouse(id); }
};

/// The asynchronous batchers: one query per batch, each pipelined on its store's connection.
inline auto postgres_names(batch::postgres::connection& c) {
    return batch::postgres::lookup<get_name>(c, "SELECT id, name FROM users WHERE id = ANY($1)", &get_name::id,
                                             [](batch::postgres::row const& r) { return r.get<std::string>(1); });
}
inline auto postgres_spouses(batch::postgres::connection& c) {
    return batch::postgres::lookup<get_spouse_id>(
        c, "SELECT id, spouse_id FROM users WHERE id = ANY($1)", &get_spouse_id::id,
        [](batch::postgres::row const& r) { return r.get<std::optional<std::int64_t>>(1); });
}
inline auto redis_names(batch::redis::connection& c) {
    return batch::redis::get<get_name>(c, [](get_name const& g) { return "name:" + std::to_string(g.id); });
}
inline auto redis_cluster_spouses(batch::redis::cluster& c) {
    return batch::redis::cluster_get<get_spouse_id>(
        c, [](get_spouse_id const& g) { return "spouse:" + std::to_string(g.id); },
        [](std::string_view v) { return std::stoll(std::string(v)); });
}
inline auto redis_spouses(batch::redis::connection& c) {
    return batch::redis::get<get_spouse_id>(
        c, [](get_spouse_id const& g) { return "spouse:" + std::to_string(g.id); },
        [](std::string_view v) { return std::stoll(std::string(v)); });
}

} // namespace demo
