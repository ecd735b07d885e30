#pragma once

// The embedded store: SQLite in memory, with plain (blocking) batchers and the naive client.

#include "graph.hpp"
#include "program.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace demo {

class sqlite_store {
public:
    explicit sqlite_store(graph const& g) {
        if (sqlite3_open(":memory:", &db_) != SQLITE_OK) throw std::runtime_error("cannot open SQLite in memory");
        exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, spouse_id INTEGER)");
        exec("BEGIN");
        sqlite3_stmt* insert = prepare("INSERT INTO users (id, name, spouse_id) VALUES (?, ?, ?)");
        for (std::int64_t id = 1; id <= g.size(); ++id) {
            sqlite3_bind_int64(insert, 1, id);
            sqlite3_bind_text(insert, 2, g.names[static_cast<std::size_t>(id)].c_str(), -1, SQLITE_TRANSIENT);
            if (auto s = g.spouse[static_cast<std::size_t>(id)]) {
                sqlite3_bind_int64(insert, 3, *s);
            } else {
                sqlite3_bind_null(insert, 3);
            }
            if (sqlite3_step(insert) != SQLITE_DONE) check(SQLITE_ERROR);
            sqlite3_reset(insert);
        }
        sqlite3_finalize(insert);
        exec("COMMIT");
        name_by_id_ = prepare("SELECT name FROM users WHERE id = ?");
        spouse_by_id_ = prepare("SELECT spouse_id FROM users WHERE id = ?");
    }
    sqlite_store(sqlite_store const&) = delete;
    sqlite_store& operator=(sqlite_store const&) = delete;
    ~sqlite_store() {
        sqlite3_finalize(name_by_id_);
        sqlite3_finalize(spouse_by_id_);
        sqlite3_close(db_);
    }

    std::size_t queries = 0;
    std::chrono::microseconds latency{0}; ///< Simulated network round trip per query.

    /// The naive client: one query per item.
    std::optional<std::string> name(std::int64_t id) { return one<std::string>(name_by_id_, id); }
    std::optional<std::int64_t> spouse(std::int64_t id) { return one<std::int64_t>(spouse_by_id_, id); }

    /// One query for many ids: SELECT ... WHERE id IN (...); the ids are integers, written into
    /// the statement directly.
    template <class T>
    std::unordered_map<std::int64_t, T> many(char const* column, std::span<std::int64_t const> ids) {
        round_trip();
        std::string sql = std::string("SELECT id, ") + column + " FROM users WHERE id IN (";
        for (std::size_t i = 0; i < ids.size(); ++i) sql += (i ? "," : "") + std::to_string(ids[i]);
        sql += ')';
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(prepare(sql.c_str()), sqlite3_finalize);
        std::unordered_map<std::int64_t, T> found;
        found.reserve(ids.size());
        int rc = 0;
        while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
            if (sqlite3_column_type(stmt.get(), 1) != SQLITE_NULL) {
                found.emplace(sqlite3_column_int64(stmt.get(), 0), column_as<T>(stmt.get(), 1));
            }
        }
        if (rc != SQLITE_DONE) check(rc);
        return found;
    }

    /// The batchers: one query per batch (plain batchers, which block).
    auto batchers() {
        auto name_batcher = [this](std::span<get_name const> in) { return answer<std::string>("name", in); };
        auto spouse_batcher = [this](std::span<get_spouse_id const> in) {
            return answer<std::int64_t>("spouse_id", in);
        };
        return std::pair{name_batcher, spouse_batcher};
    }

private:
    template <class T, class Op>
    std::vector<std::optional<T>> answer(char const* column, std::span<Op const> in) {
        std::vector<std::int64_t> ids;
        ids.reserve(in.size());
        for (auto const& op : in) ids.push_back(op.id);
        auto const found = many<T>(column, ids);
        std::vector<std::optional<T>> out;
        out.reserve(in.size());
        for (auto const& op : in) {
            auto const it = found.find(op.id);
            out.push_back(it == found.end() ? std::nullopt : std::optional<T>(it->second));
        }
        return out;
    }

    template <class T>
    static T column_as(sqlite3_stmt* stmt, int column) {
        if constexpr (std::is_same_v<T, std::string>) {
            return reinterpret_cast<char const*>(sqlite3_column_text(stmt, column));
        } else {
            return sqlite3_column_int64(stmt, column);
        }
    }

    template <class T>
    std::optional<T> one(sqlite3_stmt* stmt, std::int64_t id) {
        round_trip();
        sqlite3_bind_int64(stmt, 1, id);
        std::optional<T> found;
        if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
            found = column_as<T>(stmt, 0);
        }
        sqlite3_reset(stmt);
        return found;
    }

    void round_trip() {
        ++queries;
        if (latency.count() > 0) std::this_thread::sleep_for(latency);
    }

    void exec(char const* sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
            std::string const what = message ? message : "unknown error";
            sqlite3_free(message);
            throw std::runtime_error("SQLite: " + what);
        }
    }

    sqlite3_stmt* prepare(char const* sql) {
        sqlite3_stmt* stmt = nullptr;
        check(sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr));
        return stmt;
    }

    void check(int rc) const {
        if (rc != SQLITE_OK) throw std::runtime_error(std::string("SQLite: ") + sqlite3_errmsg(db_));
    }

    sqlite3* db_ = nullptr;
    sqlite3_stmt* name_by_id_ = nullptr;
    sqlite3_stmt* spouse_by_id_ = nullptr;
};

} // namespace demo
