#define BOOST_TEST_MODULE observer
// Observers: the events an observed executor sends, in order and with their contents; the
// times in the stats; and the trace writer's JSON, parsed with a real JSON parser.
#include "socket_store.hpp"
#include "support.hpp"

#include <batch/batch.hpp>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct shard_get {
    int shard;
    int key;
    using result_type = int;
    std::string batch_key() const { return "shard-" + std::to_string(shard); }
};
struct lookup {
    int key;
    using result_type = int;
    static constexpr bool deduplicate = true;
    bool operator==(lookup const&) const = default;
};

} // namespace

template <>
struct std::hash<lookup> : test::hash_by<&lookup::key> {};

namespace {

using ops = batch::operations<shard_get, lookup>;
template <class T>
using gen = batch::gen<T, ops>;

struct shard_batcher {
    std::vector<batch::outcome<int>> operator()(std::span<shard_get const> in) const {
        std::vector<batch::outcome<int>> out;
        for (auto const& g : in) {
            if (g.key < 0) {
                out.emplace_back(std::make_exception_ptr(test::boom("negative")));
            } else {
                out.emplace_back(g.shard * 100 + g.key);
            }
        }
        return out;
    }
};
struct lookup_batcher {
    std::vector<int> operator()(std::span<lookup const> in) const {
        if (!in.empty() && in[0].key == 666) throw test::boom("the whole call");
        std::vector<int> out;
        for (auto const& l : in) out.push_back(l.key * 2);
        return out;
    }
};

/// Records every event it is sent, as text.
struct recorder {
    std::vector<std::string> events;
    std::vector<batch::batch_event> batches;
    void on_run_begin(batch::clock::time_point) { events.push_back("run begin"); }
    void on_round_begin(std::size_t round, batch::clock::time_point) {
        events.push_back("round " + std::to_string(round) + " begin");
    }
    void on_batch(batch::batch_event const& e) {
        events.push_back("batch " + std::string(e.operation.substr(e.operation.rfind(':') + 1)));
        batches.push_back(e);
    }
    void on_round_end(batch::round_event const& e) {
        events.push_back("round " + std::to_string(e.round) + " end, " + std::to_string(e.batches) + " batches");
    }
    void on_run_end(batch::run_event const& e) { events.push_back(e.error ? "run end, failed" : "run end"); }
};

gen<int> two_rounds() {
    std::vector<shard_get> gets{{1, 1}, {2, 2}, {1, 3}};
    std::vector<lookup> lookups{lookup{4}, lookup{4}, lookup{5}}; // named: g++ 12 (see the README)
    auto [g, l] = co_yield boost::hana::make_tuple(std::move(gets), std::move(lookups));
    int const again = co_yield lookup{g[0]};
    co_return g[0] + g[1] + g[2] + l[0] + l[1] + l[2] + again;
}

} // namespace

static_assert(!decltype(batch::make_executor<ops>(shard_batcher{}, lookup_batcher{}))::observed);

BOOST_AUTO_TEST_CASE(an_observer_sees_runs_rounds_and_batches_in_order) {
    recorder r;
    auto ex = batch::make_executor<ops>(shard_batcher{}, lookup_batcher{}, batch::with_observer(std::ref(r)));
    static_assert(decltype(ex)::observed);
    BOOST_TEST(ex.run(two_rounds()) == 101 + 202 + 103 + 8 + 8 + 10 + 202);
    BOOST_TEST(&ex.observer() == &r); // std::ref: the executor refers to it
    std::vector<std::string> const want{"run begin",       "round 1 begin", "batch shard_get",
                                        "batch shard_get", "batch lookup",  "round 1 end, 3 batches",
                                        "round 2 begin",   "batch lookup",  "round 2 end, 1 batches",
                                        "run end"};
    BOOST_TEST(r.events == want, boost::test_tools::per_element());
    auto const& first = r.batches[0];
    BOOST_TEST(first.key.value_or("?") == "shard-1");
    BOOST_TEST(first.size == 2u);
    BOOST_TEST(first.round == 1u);
    BOOST_TEST(!first.asynchronous);
    BOOST_TEST(first.type_index == 0u);
    BOOST_TEST(std::string(first.operation).find("shard_get") != std::string::npos);
    BOOST_TEST((first.completed >= first.submitted));
    BOOST_TEST(r.batches[1].key.value_or("?") == "shard-2");
    BOOST_TEST(r.batches[2].size == 2u); // lookup 4 twice, merged
    BOOST_TEST(r.batches[2].deduplicated == 1u);
    BOOST_TEST(!r.batches[2].key.has_value());
}

BOOST_AUTO_TEST_CASE(failures_reach_the_observer_and_the_observer_cannot_break_a_run) {
    recorder r;
    auto ex = batch::make_executor<ops>(shard_batcher{}, lookup_batcher{}, batch::with_observer(std::ref(r)));
    std::vector<shard_get> some_fail{{1, 1}, {1, -1}, {1, -2}};
    BOOST_CHECK_THROW(ex.run(std::move(some_fail)), test::boom);
    BOOST_TEST(r.batches.back().failed == 2u);
    BOOST_TEST(!r.batches.back().error);
    BOOST_TEST(r.events.back() == "run end, failed");
    BOOST_CHECK_THROW(ex.run(lookup{666}), test::boom);
    BOOST_TEST(static_cast<bool>(r.batches.back().error)); // the whole call failed

    struct throwing {
        void on_batch(batch::batch_event const&) { throw std::runtime_error("observer trouble"); }
        void on_round_end(batch::round_event const&) { throw std::runtime_error("observer trouble"); }
    };
    auto quiet = batch::make_executor<ops>(shard_batcher{}, lookup_batcher{}, batch::with_observer(throwing{}));
    BOOST_TEST(quiet.run(two_rounds()) == 634); // what an observer throws is dropped
}

BOOST_AUTO_TEST_CASE(the_timing_observer_fills_the_times_of_the_stats) {
    auto plain = batch::make_executor<ops>(shard_batcher{}, lookup_batcher{});
    plain.run(two_rounds());
    BOOST_TEST(plain.stats().round_times.empty()); // no observer: no clock read
    BOOST_TEST(plain.stats().wall_time.count() == 0);

    auto timed = batch::make_executor<ops>(shard_batcher{}, lookup_batcher{}, batch::with_observer(batch::timing{}));
    timed.run(two_rounds());
    auto const& s = timed.stats();
    BOOST_TEST(s.round_times.size() == 2u);
    BOOST_TEST(s.wall_time.count() > 0);
    batch::clock::duration rounds{};
    for (auto d : s.round_times) rounds += d;
    BOOST_TEST((rounds <= s.wall_time));
    auto const shards = timed.stats_of<shard_get>();
    BOOST_TEST(shards.batch_time.count() > 0);
    BOOST_TEST((shards.longest_batch <= shards.batch_time));
    BOOST_TEST((shards.longest_batch * 2 >= shards.batch_time)); // two calls: the longer is at least half
}

namespace {

struct get_user {
    int key;
    using result_type = int;
};
struct get_spouse {
    int key;
    using result_type = int;
};
using store_ops = batch::operations<get_user, get_spouse>;

batch::gen<int, store_ops> couple(int id) {
    auto [u, s] = co_yield boost::hana::make_tuple(get_user{id}, get_spouse{id});
    int const again = co_yield get_user{s};
    co_return u + s + again;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_trace_shows_rounds_and_overlapping_asynchronous_batches) {
    // The store answers nothing until both first-round requests are in: they overlap for sure.
    test::socket_store store(5ms, 2);
    batch::trace_writer trace;
    auto ex = batch::make_executor<store_ops>(test::store_batcher<get_user>(store, "users"),
                                              test::store_batcher<get_spouse>(store, "spouses"),
                                              batch::with_observer(std::ref(trace)));
    BOOST_TEST(ex.run(couple(3)) == 6 + 6 + 12);
    BOOST_TEST(!store.barrier_timed_out());
    std::ostringstream written;
    trace.write(written);
    auto const json = nlohmann::json::parse(written.str()); // a real parser: malformed JSON throws
    BOOST_TEST(json["displayTimeUnit"] == "ms");

    std::map<int, std::string> tracks;
    std::vector<nlohmann::json> runs, rounds, batches;
    for (auto const& e : json["traceEvents"]) {
        if (e["ph"] == "M" && e["name"] == "thread_name") tracks[e["tid"].get<int>()] = e["args"]["name"];
        if (e["ph"] != "X") continue;
        if (e["cat"] == "run") runs.push_back(e);
        if (e["cat"] == "round") rounds.push_back(e);
        if (e["cat"] == "batch") batches.push_back(e);
    }
    BOOST_REQUIRE(runs.size() == 1u);
    BOOST_REQUIRE(rounds.size() == 2u);
    BOOST_REQUIRE(batches.size() == 3u);
    BOOST_TEST(runs[0]["args"]["rounds"] == 2);
    BOOST_TEST(rounds[0]["name"] == "round 1");
    BOOST_TEST(rounds[0]["args"]["batches"] == 2);
    auto const begin = [](nlohmann::json const& e) { return e["ts"].get<double>(); };
    auto const end = [](nlohmann::json const& e) { return e["ts"].get<double>() + e["dur"].get<double>(); };
    // Nesting: the rounds lie within the run, each batch within its round.
    for (auto const& r : rounds) {
        BOOST_TEST(begin(r) >= begin(runs[0]));
        BOOST_TEST(end(r) <= end(runs[0]) + 0.001);
    }
    for (auto const& b : batches) {
        auto const& r = rounds[b["args"]["round"].get<std::size_t>() - 1];
        BOOST_TEST(begin(b) >= begin(r));
        BOOST_TEST(end(b) <= end(r) + 0.001);
        BOOST_TEST(b["args"]["size"] == 1);
        BOOST_TEST(b["args"]["outcome"] == "ok");
        BOOST_TEST(b["args"]["asynchronous"] == true);
    }
    // The two batches of round 1 overlap in time, on separate tracks named after their types
    // (listed as they complete: the store answers both at once, so in either order).
    auto const& a = batches[0];
    auto const& b = batches[1];
    BOOST_TEST(a["args"]["round"] == 1);
    BOOST_TEST(b["args"]["round"] == 1);
    BOOST_TEST(a["tid"] != b["tid"]);
    BOOST_TEST((begin(a) < end(b) && begin(b) < end(a)));
    std::string const& track_a = tracks[a["tid"].get<int>()];
    std::string const& track_b = tracks[b["tid"].get<int>()];
    bool const users_first = track_a.find("get_user") != std::string::npos;
    BOOST_TEST((users_first ? track_a : track_b).find("get_user") != std::string::npos);
    BOOST_TEST((users_first ? track_b : track_a).find("get_spouse") != std::string::npos);
    BOOST_TEST(tracks[1] == "runs");
    BOOST_TEST(tracks[2] == "rounds");
}

BOOST_AUTO_TEST_CASE(a_trace_writes_keys_and_failures_as_valid_json) {
    batch::trace_writer trace;
    auto ex = batch::make_executor<ops>(shard_batcher{}, lookup_batcher{}, batch::with_observer(std::ref(trace)));
    BOOST_CHECK_THROW(ex.run(lookup{666}), test::boom);
    std::vector<shard_get> gets{{7, 1}, {7, -1}};
    BOOST_CHECK_THROW(ex.run(std::move(gets)), test::boom);
    std::ostringstream written;
    trace.write(written);
    auto const json = nlohmann::json::parse(written.str());
    std::vector<std::string> outcomes, keys;
    for (auto const& e : json["traceEvents"]) {
        if (e["ph"] != "X" || e["cat"] != "batch") continue;
        outcomes.push_back(e["args"]["outcome"]);
        if (e["args"].contains("key")) keys.push_back(e["args"]["key"]);
    }
    BOOST_TEST(outcomes == (std::vector<std::string>{"failed: the whole call", "1 of 2 failed"}),
               boost::test_tools::per_element());
    BOOST_TEST(keys == (std::vector<std::string>{"shard-7"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_trace_saved_to_a_file_holds_what_write_writes_and_an_unwritable_path_throws) {
    batch::trace_writer trace;
    auto ex = batch::make_executor<ops>(shard_batcher{}, lookup_batcher{}, batch::with_observer(std::ref(trace)));
    BOOST_CHECK_THROW(ex.run(lookup{666}), test::boom);
    std::ostringstream written;
    trace.write(written);
    auto const path = std::filesystem::temp_directory_path() / ("batch_observer_test_" + std::to_string(::getpid()));
    trace.save(path.string());
    std::ifstream in(path, std::ios::binary);
    std::string const saved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    std::filesystem::remove(path);
    BOOST_TEST(saved == written.str());
    BOOST_TEST(!saved.empty());
    try {
        trace.save((path / "no such folder" / "trace.json").string());
        BOOST_FAIL("expected a std::runtime_error");
    } catch (std::runtime_error const& e) {
        BOOST_TEST(std::string(e.what()).find("batch::trace_writer: cannot write") != std::string::npos, e.what());
    }
}
