// The original project's README example, for real: users and their spouses in a store, fetched
// with batching (one query per operation type and round) and naively (one query per item), with
// the queries, the rounds and the time each took. The store is SQLite in memory by default;
// --store postgres, redis or both use real servers, which scripts/demo starts (it passes where
// they listen in BATCH_POSTGRES and BATCH_REDIS). --trace FILE writes what the batched runs
// did as a Chrome trace (open it in ui.perfetto.dev, or draw it with scripts/trace-svg).
// --concurrent N (with --store both) serves N requests at once, as a service would.
#include "concurrent.hpp"
#include "graph.hpp"
#include "program.hpp"
#include "servers.hpp"
#include "sqlite.hpp"

#include <batch/batch.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace demo;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <class F>
double time_ms(F&& f) {
    auto const start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void describe(couple const& c) {
    if (c.second) {
        std::printf("  %s is married to %s\n", c.first.name.c_str(), c.second->name.c_str());
    } else {
        std::printf("  %s is single\n", c.first.name.c_str());
    }
}

/// Runs gen_spouses for one user and for every user, batched on `ex` and naively on `naive`
/// (`naive_queries()` counts its queries), after one untimed run of each; prints both, for every
/// user the medians of `runs` runs; true when they agree.
template <class Executor, class Naive, class NaiveQueries>
bool compare(Executor& ex, Naive& naive, NaiveQueries&& naive_queries, std::int64_t users, char const* what,
             int runs = 3) {
    bool agree = true;
    std::int64_t const someone = users / 2 + 1;

    // One untimed run of each first: connections, prepared statements and caches warm up.
    agree = agree && ex.run(gen_spouses(1)) == naive_spouses(naive, 1);

    couple batched_one, naive_one;
    double const batched_one_ms = time_ms([&] { batched_one = ex.run(gen_spouses(someone)); });
    auto const one = ex.stats();
    std::size_t const naive_before = naive_queries();
    double const naive_one_ms = time_ms([&] { naive_one = naive_spouses(naive, someone); });
    std::size_t const naive_one_queries = naive_queries() - naive_before;
    agree = agree && batched_one == naive_one;
    std::printf("\ngen_spouses(%lld):\n", static_cast<long long>(someone));
    describe(batched_one);
    std::printf("  batched: %6zu %s (%zu rounds) %10.3f ms\n", one.batches, what, one.rounds, batched_one_ms);
    std::printf("  naive:   %6zu %s             %10.3f ms\n", naive_one_queries, what, naive_one_ms);

    // Every user at once, batched and naive in turn, 1 + `runs` times each: the medians of the
    // last `runs` are shown (the first run of each pays for memory the process has not touched).
    std::vector<couple> batched_all, naive_all;
    std::vector<double> batched_times, naive_times;
    batch::run_stats all;
    std::size_t naive_all_queries = 0;
    for (int r = 0; r <= runs; ++r) {
        if (r == 1) {
            batched_times.clear();
            naive_times.clear();
        }
        batched_times.push_back(time_ms([&] {
            std::vector<gen<couple>> gens;
            gens.reserve(static_cast<std::size_t>(users));
            for (std::int64_t id = 1; id <= users; ++id) gens.push_back(gen_spouses(id));
            batched_all = ex.run(std::move(gens));
        }));
        all = ex.stats();
        std::size_t const naive_all_before = naive_queries();
        naive_times.push_back(time_ms([&] {
            naive_all.clear();
            naive_all.reserve(static_cast<std::size_t>(users));
            for (std::int64_t id = 1; id <= users; ++id) naive_all.push_back(naive_spouses(naive, id));
        }));
        naive_all_queries = naive_queries() - naive_all_before;
        agree = agree && batched_all == naive_all;
    }
    double const batched_all_ms = median(batched_times), naive_all_ms = median(naive_times);
    agree = agree && batched_all == naive_all;
    auto const married = static_cast<std::size_t>(
        std::count_if(batched_all.begin(), batched_all.end(), [](couple const& c) { return c.second.has_value(); }));
    std::printf("\ngen_spouses for all %lld users at once (%zu married, %zu single):\n", static_cast<long long>(users),
                married, batched_all.size() - married);
    std::printf("  batched: %6zu %s (%zu rounds) %10.3f ms (median of %d, after 1)\n", all.batches, what, all.rounds,
                batched_all_ms, runs);
    std::printf("  naive:   %6zu %s             %10.3f ms (median of %d, after 1)\n", naive_all_queries, what,
                naive_all_ms, runs);
    std::printf("  naive / batched: %.0fx the queries, %.1fx the time\n",
                static_cast<double>(naive_all_queries) / static_cast<double>(all.batches),
                naive_all_ms / batched_all_ms);
    return agree;
}

int usage(char const* program) {
    std::fprintf(stderr,
                 "usage: %s [--store sqlite|postgres|redis|both|cluster] [--users N] [--latency-us T] [--trace FILE]\n"
                 "          [--concurrent N]\n"
                 "  --store S        where the users are: SQLite in memory (the default), PostgreSQL,\n"
                 "                   Redis, or both (names in PostgreSQL, spouse ids in Redis), or cluster\n"
                 "                   (names in three PostgreSQL shards, spouse ids in a Redis Cluster);\n"
                 "                   the servers are found through BATCH_POSTGRES, BATCH_REDIS,\n"
                 "                   BATCH_POSTGRES_SHARDS and BATCH_REDIS_CLUSTER, which scripts/demo\n"
                 "                   sets when it starts them\n"
                 "  --users N        users in the generated social graph, 1 to 10000000 (default 10000)\n"
                 "  --latency-us T   with SQLite: a simulated network round trip added to every query, in\n"
                 "                   microseconds, 0 to 1000000 (default 0)\n"
                 "  --trace FILE     writes the batched runs' rounds and batches to FILE as Chrome\n"
                 "                   trace-event JSON (ui.perfetto.dev opens it; scripts/trace-svg draws it)\n"
                 "  --concurrent N   with --store both: also serves N requests arriving at once (1 to\n"
                 "                   1000000) on one thread, through a batch::asio::loop, through one\n"
                 "                   executor per request, and naively, with their throughput and latency\n",
                 program);
    return 2;
}

std::optional<std::int64_t> parse_number(std::string_view text, std::int64_t low, std::int64_t high) {
    std::int64_t value = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < low || value > high) return std::nullopt;
    return value;
}

std::string server(char const* variable, char const* store) {
    char const* value = std::getenv(variable);
    if (!value || !*value) {
        throw std::runtime_error(std::string("--store ") + store + " needs a server, found through " + variable
                                 + ": run it as scripts/demo --store " + store + ", which starts one");
    }
    return value;
}

} // namespace

int main(int argc, char** argv) {
    std::int64_t users = 10'000;
    std::int64_t latency_us = 0;
    std::string store = "sqlite";
    std::string trace_file;
    std::int64_t concurrent = 0;
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
        } else if (arg == "--concurrent" && i + 1 < argc) {
            auto n = parse_number(argv[++i], 1, 1'000'000);
            if (!n) {
                std::fprintf(stderr, "%s: --concurrent takes a whole number from 1 to 1000000, not '%s'\n", argv[0],
                             argv[i]);
                return usage(argv[0]);
            }
            concurrent = *n;
        } else if (arg == "--trace" && i + 1 < argc) {
            trace_file = argv[++i];
        } else if (arg == "--store" && i + 1 < argc) {
            store = argv[++i];
            if (store != "sqlite" && store != "postgres" && store != "redis" && store != "both" && store != "cluster") {
                std::fprintf(stderr, "%s: --store takes sqlite, postgres, redis, both or cluster, not '%s'\n", argv[0],
                             store.c_str());
                return usage(argv[0]);
            }
        } else {
            std::fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[i]);
            return usage(argv[0]);
        }
    }
    if (concurrent > 0 && store != "both") {
        std::fprintf(stderr, "%s: --concurrent serves requests against real servers: use it with --store both\n",
                     argv[0]);
        return usage(argv[0]);
    }
    if (latency_us > 0 && store != "sqlite") {
        std::fprintf(stderr, "%s: --latency-us simulates a network for SQLite; the servers have a real one\n", argv[0]);
        return usage(argv[0]);
    }

    try {
        graph const g(users);
        bool agree = false;
        // The batched executor reports to a trace writer, which --trace saves at the end.
        batch::trace_writer trace;
        auto const traced = batch::with_observer(std::ref(trace));
        if (store == "sqlite") {
            std::printf("batch spouses demo: %lld users in SQLite, in memory\n", static_cast<long long>(users));
            sqlite_store db(g);
            db.latency = std::chrono::microseconds(latency_us);
            if (latency_us > 0) {
                std::printf("every SQL query waits %lld us more, like a network round trip\n",
                            static_cast<long long>(latency_us));
            }
            auto const batchers = db.batchers(); // a pair: a lambda cannot capture bindings in clang 14
            // In memory a trace costs more than the queries (an observed executor resumes each
            // generator in a pass of its own, to time the batches alone): traced only if asked.
            auto const run = [&](auto const&... observer) {
                auto ex = batch::make_executor<ops>(batchers.first, batchers.second, observer...);
                return compare(
                    ex, db, [&] { return db.queries; }, users, "SQL queries", 7);
            };
            agree = trace_file.empty() ? run() : run(traced);
            if (latency_us == 0) {
                std::printf(
                    "\nin memory a query costs SQLite about a microsecond, so batching saves only SQLite's work per "
                    "query; over a network each query is also a round trip, which batching saves too: --store both "
                    "(PostgreSQL and Redis on 127.0.0.1) was 45x faster batched, for 10000 users, on our 2-core "
                    "test machine (try it, or --latency-us 100)\n");
            }
        } else if (store == "postgres") {
            auto const where = server("BATCH_POSTGRES", "postgres");
            std::printf("batch spouses demo: %lld users in PostgreSQL (%s)\n", static_cast<long long>(users),
                        where.c_str());
            postgres_client naive(where);
            naive.load(g);
            batch::postgres::connection conn(where);
            auto ex = batch::make_executor<ops>(postgres_names(conn), postgres_spouses(conn), traced);
            agree = compare(
                ex, naive, [&] { return naive.queries; }, users, "SQL queries");
        } else if (store == "redis") {
            auto const where = server("BATCH_REDIS", "redis");
            std::printf("batch spouses demo: %lld users in Redis (%s)\n", static_cast<long long>(users), where.c_str());
            redis_client naive(where);
            naive.load(g);
            batch::redis::connection conn(where);
            auto ex = batch::make_executor<ops>(redis_names(conn), redis_spouses(conn), traced);
            agree = compare(
                ex, naive, [&] { return naive.queries; }, users, "Redis commands");
        } else if (store == "cluster") {
            std::vector<std::string> shards;
            auto const list = server("BATCH_POSTGRES_SHARDS", "cluster");
            for (std::size_t at = 0; at <= list.size();) {
                auto const semi = std::min(list.find(';', at), list.size());
                shards.push_back(list.substr(at, semi - at));
                at = semi + 1;
            }
            auto const nodes = server("BATCH_REDIS_CLUSTER", "cluster");
            std::printf(
                "batch spouses demo: %lld users, names in %zu PostgreSQL shards (by id %% %zu), spouse ids in a "
                "Redis Cluster (%s)\n",
                static_cast<long long>(users), shards.size(), shards.size(), nodes.c_str());
            std::vector<std::unique_ptr<postgres_client>> names;
            for (std::size_t i = 0; i < shards.size(); ++i) {
                names.push_back(std::make_unique<postgres_client>(shards[i]));
                names.back()->load(g, static_cast<std::int64_t>(i), static_cast<std::int64_t>(shards.size()));
            }
            batch::redis::cluster cluster(nodes);
            redis_cluster_client spouses(cluster);
            spouses.load(g);
            cluster_clients naive{names, spouses};
            std::vector<std::unique_ptr<batch::postgres::connection>> connections;
            std::vector<decltype(postgres_names(std::declval<batch::postgres::connection&>()))> name_shards;
            for (auto const& conninfo : shards) {
                connections.push_back(std::make_unique<batch::postgres::connection>(conninfo));
                name_shards.push_back(postgres_names(*connections.back()));
            }
            auto const count = static_cast<std::int64_t>(shards.size());
            auto ex = batch::make_executor<ops>(
                batch::stores::sharded<get_name>(
                    std::move(name_shards),
                    [count](get_name const& n) { return static_cast<std::size_t>(n.id % count); }),
                redis_cluster_spouses(cluster), traced);
            std::printf("(%zu Redis masters; each batch is split by shard or master, its parts in flight together)\n",
                        cluster.masters().size());
            agree = compare(
                ex, naive, [&] { return naive.queries(); }, users, "calls");
        } else {
            auto const pg = server("BATCH_POSTGRES", "both");
            auto const rd = server("BATCH_REDIS", "both");
            std::printf("batch spouses demo: %lld users, names in PostgreSQL (%s), spouse ids in Redis (%s)\n",
                        static_cast<long long>(users), pg.c_str(), rd.c_str());
            postgres_client names(pg);
            names.load(g);
            redis_client spouses(rd);
            spouses.load(g);
            both_clients naive{names, spouses};
            batch::postgres::connection pg_conn(pg);
            batch::redis::connection rd_conn(rd);
            auto ex = batch::make_executor<ops>(postgres_names(pg_conn), redis_spouses(rd_conn), traced);
            std::printf("(each round's PostgreSQL and Redis batches are in flight at the same time)\n");
            agree = compare(
                ex, naive, [&] { return names.queries + spouses.queries; }, users, "queries");
            if (concurrent > 0) {
                agree = serve_concurrently(
                            pg_conn, rd_conn, naive, [&] { return names.queries + spouses.queries; }, concurrent, users)
                        && agree;
            }
        }
        if (!trace_file.empty()) {
            trace.save(trace_file);
            std::printf("\ntrace of the batched runs (%zu spans) written to %s\n", trace.size(), trace_file.c_str());
        }
        std::printf("\n%s\n", agree ? "batched and naive results agree" : "MISMATCH between batched and naive results");
        return agree ? 0 : 1;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
}
