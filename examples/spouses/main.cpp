// The original project's README example, for real: users and their spouses in an SQLite
// database, fetched with batching (one SELECT ... WHERE id IN (...) per round) and naively
// (one SELECT per item), with the queries and the time each took.
#include <batch/batch.hpp>

#include <boost/hana/tuple.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

struct user {
    std::int64_t id = 0;
    std::string name;
    std::optional<std::int64_t> spouse_id;

    bool operator==(user const&) const = default;
};

// The database

class database {
public:
    database() {
        if (sqlite3_open(":memory:", &db_) != SQLITE_OK) throw std::runtime_error("cannot open SQLite in memory");
    }
    database(database const&) = delete;
    database& operator=(database const&) = delete;
    ~database() {
        sqlite3_finalize(by_id_);
        sqlite3_close(db_);
    }

    void exec(char const* sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
            std::string what = message ? message : "unknown error";
            sqlite3_free(message);
            throw std::runtime_error("SQLite: " + what);
        }
    }

    /// Creates `n` users with generated names, married in pairs at random (one may be single).
    void populate(std::int64_t n) {
        static constexpr char const* first[] = {"Ada",   "Alan", "Barbara", "Dennis", "Edsger",   "Frances",
                                                "Grace", "John", "Ken",     "Leslie", "Margaret", "Niklaus"};
        static constexpr char const* last[] = {"Allen",   "Backus", "Dijkstra", "Hamilton", "Hopper", "Knuth",
                                               "Lamport", "Liskov", "Lovelace", "Ritchie",  "Turing", "Wirth"};
        exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, spouse_id INTEGER)");
        std::vector<std::int64_t> order(static_cast<std::size_t>(n));
        std::iota(order.begin(), order.end(), 1);
        std::shuffle(order.begin(), order.end(), std::mt19937_64(20261126));
        std::vector<std::int64_t> spouse(static_cast<std::size_t>(n) + 1, 0);
        for (std::size_t i = 0; i + 1 < order.size(); i += 2) {
            spouse[static_cast<std::size_t>(order[i])] = order[i + 1];
            spouse[static_cast<std::size_t>(order[i + 1])] = order[i];
        }
        exec("BEGIN");
        sqlite3_stmt* insert = nullptr;
        check(
            sqlite3_prepare_v2(db_, "INSERT INTO users (id, name, spouse_id) VALUES (?, ?, ?)", -1, &insert, nullptr));
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(insert, sqlite3_finalize);
        for (std::int64_t id = 1; id <= n; ++id) {
            std::string const name =
                std::string(first[id % 12]) + " " + last[(id / 12) % 12] + " #" + std::to_string(id);
            sqlite3_bind_int64(insert, 1, id);
            sqlite3_bind_text(insert, 2, name.c_str(), -1, SQLITE_TRANSIENT);
            if (auto s = spouse[static_cast<std::size_t>(id)]) {
                sqlite3_bind_int64(insert, 3, s);
            } else {
                sqlite3_bind_null(insert, 3);
            }
            if (sqlite3_step(insert) != SQLITE_DONE) check(SQLITE_ERROR);
            sqlite3_reset(insert);
        }
        exec("COMMIT");
        check(sqlite3_prepare_v2(db_, "SELECT id, name, spouse_id FROM users WHERE id = ?", -1, &by_id_, nullptr));
    }

    /// One query for one user (the naive way).
    std::optional<user> find(std::int64_t id) {
        round_trip();
        sqlite3_bind_int64(by_id_, 1, id);
        std::optional<user> found;
        if (sqlite3_step(by_id_) == SQLITE_ROW) found = row(by_id_);
        sqlite3_reset(by_id_);
        return found;
    }

    /// One query for many users: SELECT ... WHERE id IN (...). The ids are integers, so they
    /// are written into the statement directly, with no limit on their number.
    std::unordered_map<std::int64_t, user> find_all(std::span<std::int64_t const> ids) {
        round_trip();
        std::string sql = "SELECT id, name, spouse_id FROM users WHERE id IN (";
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (i) sql += ',';
            sql += std::to_string(ids[i]);
        }
        sql += ')';
        sqlite3_stmt* stmt = nullptr;
        check(sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr));
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sqlite3_finalize);
        std::unordered_map<std::int64_t, user> found;
        found.reserve(ids.size());
        int rc = 0;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            user u = row(stmt);
            found.emplace(u.id, std::move(u));
        }
        if (rc != SQLITE_DONE) check(rc);
        return found;
    }

    std::size_t queries = 0;
    std::chrono::microseconds latency{0}; ///< Simulated network round trip per query.

private:
    void round_trip() {
        ++queries;
        if (latency.count() > 0) std::this_thread::sleep_for(latency);
    }

    static user row(sqlite3_stmt* stmt) {
        user u;
        u.id = sqlite3_column_int64(stmt, 0);
        u.name = reinterpret_cast<char const*>(sqlite3_column_text(stmt, 1));
        if (sqlite3_column_type(stmt, 2) != SQLITE_NULL) u.spouse_id = sqlite3_column_int64(stmt, 2);
        return u;
    }

    void check(int rc) const {
        if (rc != SQLITE_OK) throw std::runtime_error(std::string("SQLite: ") + sqlite3_errmsg(db_));
    }

    sqlite3* db_ = nullptr;
    sqlite3_stmt* by_id_ = nullptr;
};

// The batched program: the original README, in C++

struct get_user {
    std::int64_t id;
    using result_type = user;
};
using ops = batch::operations<get_user>;
template <class T>
using gen = batch::gen<T, ops>;

struct user_not_found : std::runtime_error {
    using std::runtime_error::runtime_error;
};

gen<user> gen_user(std::int64_t id) {
    user u = co_yield get_user{id};
    co_return u;
}

gen<std::optional<user>> gen_spouse(std::int64_t id) {
    user u = co_yield get_user{id};
    if (!u.spouse_id) co_return std::nullopt;
    user spouse = co_yield gen_user(*u.spouse_id);
    co_return spouse;
}

gen<std::pair<user, std::optional<user>>> gen_spouses(std::int64_t id) {
    auto [u, spouse] = co_yield boost::hana::make_tuple(gen_user(id), gen_spouse(id));
    co_return std::pair{std::move(u), std::move(spouse)};
}

/// One SELECT for every pending get_user; an unknown id fails that operation alone.
struct user_batcher {
    database* db;

    std::vector<batch::outcome<user>> operator()(std::span<get_user const> ops) const {
        // gen_spouses asks for each user twice in its first round; the query names each once.
        std::vector<std::int64_t> ids;
        ids.reserve(ops.size());
        for (auto const& op : ops) ids.push_back(op.id);
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        auto found = db->find_all(ids);
        std::vector<batch::outcome<user>> out;
        out.reserve(ops.size());
        for (auto const& op : ops) {
            if (auto it = found.find(op.id); it != found.end()) {
                out.emplace_back(it->second);
            } else {
                out.emplace_back(std::make_exception_ptr(user_not_found("no user " + std::to_string(op.id))));
            }
        }
        return out;
    }
};

// The naive program: one query per item

user naive_user(database& db, std::int64_t id) {
    auto u = db.find(id);
    if (!u) throw user_not_found("no user " + std::to_string(id));
    return *u;
}

std::pair<user, std::optional<user>> naive_spouses(database& db, std::int64_t id) {
    user u = naive_user(db, id);
    user again = naive_user(db, id); // gen_spouse's own lookup, as the unbatched code does it
    if (!again.spouse_id) return {std::move(u), std::nullopt};
    return {std::move(u), naive_user(db, *again.spouse_id)};
}

// Running both

using pair_t = std::pair<user, std::optional<user>>;

template <class F>
double time_ms(F&& f) {
    auto const start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void describe(pair_t const& p) {
    if (p.second) {
        std::printf("  %s is married to %s\n", p.first.name.c_str(), p.second->name.c_str());
    } else {
        std::printf("  %s is single\n", p.first.name.c_str());
    }
}

int usage(char const* program) {
    std::fprintf(stderr,
                 "usage: %s [--users N] [--latency-us T]\n"
                 "  --users N        users in the generated social graph, 1 to 10000000 (default 10000)\n"
                 "  --latency-us T   simulated network round trip added to every SQL query, in\n"
                 "                   microseconds, 0 to 1000000 (default 0: SQLite in memory)\n",
                 program);
    return 2;
}

std::optional<std::int64_t> parse_number(std::string_view text, std::int64_t low, std::int64_t high) {
    std::int64_t value = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < low || value > high) return std::nullopt;
    return value;
}

} // namespace

int main(int argc, char** argv) {
    std::int64_t users = 10'000;
    std::int64_t latency_us = 0;
    for (int i = 1; i < argc; ++i) {
        std::string_view const arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            usage(argv[0]);
            return 0;
        }
        if (arg == "--users" && i + 1 < argc) {
            auto n = parse_number(argv[++i], 1, 10'000'000);
            if (!n) {
                std::fprintf(stderr, "%s: --users takes a whole number from 1 to 10000000, not '%s'\n", argv[0],
                             argv[i]);
                return usage(argv[0]);
            }
            users = *n;
        } else if (arg == "--latency-us" && i + 1 < argc) {
            auto t = parse_number(argv[++i], 0, 1'000'000);
            if (!t) {
                std::fprintf(stderr, "%s: --latency-us takes a whole number from 0 to 1000000, not '%s'\n", argv[0],
                             argv[i]);
                return usage(argv[0]);
            }
            latency_us = *t;
        } else {
            std::fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[i]);
            return usage(argv[0]);
        }
    }

    try {
        database db;
        std::printf("batch spouses demo: an SQLite database in memory with %lld users\n",
                    static_cast<long long>(users));
        db.populate(users);
        db.latency = std::chrono::microseconds(latency_us);
        if (latency_us > 0)
            std::printf("every SQL query waits %lld us more, like a network round trip\n",
                        static_cast<long long>(latency_us));

        auto ex = batch::make_executor<ops>(user_batcher{&db});
        std::int64_t const someone = users / 2 + 1;
        bool agree = true;

        // One user and her spouse.
        pair_t batched_one, naive_one;
        db.queries = 0;
        double const batched_one_ms = time_ms([&] { batched_one = ex.run(gen_spouses(someone)); });
        std::size_t const batched_one_queries = db.queries;
        std::size_t const one_rounds = ex.stats().rounds;
        db.queries = 0;
        double const naive_one_ms = time_ms([&] { naive_one = naive_spouses(db, someone); });
        std::size_t const naive_one_queries = db.queries;
        agree = agree && batched_one == naive_one;
        std::printf("\ngen_spouses(%lld):\n", static_cast<long long>(someone));
        describe(batched_one);
        std::printf("  batched: %6zu SQL queries (%zu rounds) %10.3f ms\n", batched_one_queries, one_rounds,
                    batched_one_ms);
        std::printf("  naive:   %6zu SQL queries             %10.3f ms\n", naive_one_queries, naive_one_ms);

        // Every user at once.
        std::vector<pair_t> batched_all, naive_all;
        db.queries = 0;
        double const batched_all_ms = time_ms([&] {
            std::vector<gen<pair_t>> gens;
            gens.reserve(static_cast<std::size_t>(users));
            for (std::int64_t id = 1; id <= users; ++id) gens.push_back(gen_spouses(id));
            batched_all = ex.run(std::move(gens));
        });
        std::size_t const batched_all_queries = db.queries;
        std::size_t const all_rounds = ex.stats().rounds;
        db.queries = 0;
        double const naive_all_ms = time_ms([&] {
            naive_all.reserve(static_cast<std::size_t>(users));
            for (std::int64_t id = 1; id <= users; ++id) naive_all.push_back(naive_spouses(db, id));
        });
        std::size_t const naive_all_queries = db.queries;
        agree = agree && batched_all == naive_all;
        std::size_t const married = static_cast<std::size_t>(
            std::count_if(batched_all.begin(), batched_all.end(), [](auto const& p) { return p.second.has_value(); }));
        std::printf("\ngen_spouses for all %lld users at once (%zu married, %zu single):\n",
                    static_cast<long long>(users), married, batched_all.size() - married);
        std::printf("  batched: %6zu SQL queries (%zu rounds) %10.3f ms\n", batched_all_queries, all_rounds,
                    batched_all_ms);
        std::printf("  naive:   %6zu SQL queries             %10.3f ms\n", naive_all_queries, naive_all_ms);
        std::printf("  naive / batched: %.0fx the queries, %.2fx the time\n",
                    static_cast<double>(naive_all_queries) / static_cast<double>(batched_all_queries),
                    naive_all_ms / batched_all_ms);

        std::printf("\n%s\n", agree ? "batched and naive results agree" : "MISMATCH between batched and naive results");
        return agree ? 0 : 1;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
}
