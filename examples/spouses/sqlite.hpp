#pragma once

// The embedded store: SQLite in memory, with plain (blocking) batchers and the naive client.

#include "graph.hpp"
#include "program.hpp"

#include <sqlite3.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
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
        names_by_ids_ = prepare("SELECT k.key, u.name FROM json_each(?1) AS k LEFT JOIN users AS u ON u.id = k.value");
        spouses_by_ids_ =
            prepare("SELECT k.key, u.spouse_id FROM json_each(?1) AS k LEFT JOIN users AS u ON u.id = k.value");
    }
    sqlite_store(sqlite_store const&) = delete;
    sqlite_store& operator=(sqlite_store const&) = delete;
    ~sqlite_store() {
        sqlite3_finalize(name_by_id_);
        sqlite3_finalize(spouse_by_id_);
        sqlite3_finalize(names_by_ids_);
        sqlite3_finalize(spouses_by_ids_);
        sqlite3_close(db_);
    }

    std::size_t queries = 0;
    std::chrono::microseconds latency{0}; ///< Simulated network round trip per query.

    /// The naive client: one query per item.
    std::optional<std::string> name(std::int64_t id) { return one<std::string>(name_by_id_, id); }
    std::optional<std::int64_t> spouse(std::int64_t id) { return one<std::int64_t>(spouse_by_id_, id); }

    /// The batchers: one query per batch (plain batchers, which block).
    auto batchers() {
        auto name_batcher = [this](std::span<get_name const> in) { return answer<std::string>(names_by_ids_, in); };
        auto spouse_batcher = [this](std::span<get_spouse_id const> in) {
            return answer<std::int64_t>(spouses_by_ids_, in);
        };
        return std::pair{name_batcher, spouse_batcher};
    }

private:
    template <class T, class Op>
    std::vector<std::optional<T>> answer(sqlite3_stmt* stmt, std::span<Op const> in) {
        ids_.clear();
        ids_.reserve(in.size());
        for (auto const& op : in) ids_.push_back(op.id);
        return many<T>(stmt, ids_);
    }

    /// One query for many ids, in the order given: the ids go to a statement prepared once as
    /// one bound parameter, a JSON array that `json_each` unrolls (`[4,8,15]`); a row comes back
    /// for each id, with its position, so the values land where they belong and an id with no
    /// user (or a NULL) stays empty. SQLite parses the query once, not once per batch.
    template <class T>
    std::vector<std::optional<T>> many(sqlite3_stmt* stmt, std::span<std::int64_t const> ids) {
        round_trip();
        keys_.clear();
        keys_ += '[';
        char digits[24];
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (i) keys_ += ',';
            auto const end = std::to_chars(digits, digits + sizeof digits, ids[i]).ptr;
            keys_.append(digits, end);
        }
        keys_ += ']';
        std::vector<std::optional<T>> found(ids.size());
        sqlite3_bind_text(stmt, 1, keys_.data(), static_cast<int>(keys_.size()), SQLITE_STATIC);
        int rc = 0;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            auto const at = static_cast<std::size_t>(sqlite3_column_int64(stmt, 0));
            if (at < found.size() && sqlite3_column_type(stmt, 1) != SQLITE_NULL) found[at] = column_as<T>(stmt, 1);
        }
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        if (rc != SQLITE_DONE) check(rc);
        return found;
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
    sqlite3_stmt* names_by_ids_ = nullptr;
    sqlite3_stmt* spouses_by_ids_ = nullptr;
    std::vector<std::int64_t> ids_; ///< A batch's ids, kept to reuse their capacity.
    std::string keys_;              ///< A batch's ids as JSON, likewise.
};

} // namespace demo
