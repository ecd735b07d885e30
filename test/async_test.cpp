#define BOOST_TEST_MODULE async
// Asynchronous batchers against a store served over local TCP by a thread (socket_store.hpp):
// a round submits every asynchronous batch before it waits for any, so their I/O overlaps;
// the rules of plain batchers (batch_key, max_batch_size, deduplication, caching, errors) hold
// for them too; deadlines cancel; a run stopped with batches in flight cancels them.
#include "socket_store.hpp"
#include "support.hpp"
#include "worlds.hpp"

#include <boost/hana/tuple.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace hana = boost::hana;

struct get_user {
    int key;
    using result_type = int;
};
struct get_spouse {
    int key;
    using result_type = int;
};
struct get_name {
    int key;
    using result_type = std::string;
};
using ops = batch::operations<get_user, get_spouse, get_name>;
template <class T>
using gen = batch::gen<T, ops>;

/// A plain batcher, called between the submits and the wait: it logs its call.
struct name_batcher {
    test::event_log* log;
    std::vector<std::string> operator()(std::span<get_name const> in) const {
        log->add("call names");
        std::vector<std::string> out;
        for (auto const& op : in) out.push_back(test::numbered("#", op.key));
        return out;
    }
};

gen<std::string> profile(int id) {
    auto [u, s, n] = co_yield hana::make_tuple(get_user{id}, get_spouse{id}, get_name{id});
    co_return n + ":" + std::to_string(u) + "/" + std::to_string(s);
}

long index_of(std::vector<std::string> const& v, std::string const& e) {
    return std::find(v.begin(), v.end(), e) - v.begin();
}

} // namespace

BOOST_AUTO_TEST_CASE(the_batches_of_a_round_are_all_submitted_before_any_is_waited_for) {
    // The store answers nothing until it has both requests: were the second batch submitted
    // only after the first had been answered, the round would never finish.
    test::socket_store store(0ms, 2);
    test::event_log log;
    auto ex = batch::make_executor<ops>(test::store_batcher<get_user>(store, "users", &log),
                                        test::store_batcher<get_spouse>(store, "spouses", &log), name_batcher{&log});
    BOOST_TEST(ex.run(profile(21)) == "#21:42/42");
    BOOST_TEST(!store.barrier_timed_out());
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats().batches == 3u);
    auto const& e = log.events;
    BOOST_REQUIRE(e.size() == 5u);
    // Both submitted, then the plain batcher called, then both answers read.
    BOOST_TEST(e[0] == "submit users");
    BOOST_TEST(e[1] == "submit spouses");
    BOOST_TEST(e[2] == "call names");
    BOOST_TEST(index_of(e, "done users") > 2);
    BOOST_TEST(index_of(e, "done spouses") > 2);
}

BOOST_AUTO_TEST_CASE(rounds_calls_and_results_are_those_of_plain_batchers) {
    test::socket_store store(1ms);
    test::event_log log;
    auto ex = batch::make_executor<ops>(test::store_batcher<get_user>(store, "users"),
                                        test::store_batcher<get_spouse>(store, "spouses"), name_batcher{&log});
    std::vector<gen<std::string>> many;
    for (int i = 0; i < 100; ++i) many.push_back(profile(i));
    auto const out = ex.run(std::move(many));
    BOOST_TEST(out[7] == "#7:14/14");
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats().batches == 3u);
    BOOST_TEST(ex.stats().largest_batch == 100u);
    BOOST_TEST(ex.stats_of<get_user>().operations == 100u);
    BOOST_TEST(store.requests() == 2u);
}

namespace {

struct limited_get {
    int key;
    using result_type = int;
    static constexpr std::size_t max_batch_size = 10;
};
struct shard_get {
    int shard;
    int key;
    using result_type = int;
    int batch_key() const { return shard; }
};
struct cached_get {
    int key;
    using result_type = int;
    static constexpr bool cacheable = true;
    bool operator==(cached_get const&) const = default;
};

} // namespace

template <>
struct std::hash<cached_get> : test::hash_by<&cached_get::key> {};

BOOST_AUTO_TEST_CASE(chunks_of_max_batch_size_are_in_flight_together) {
    test::socket_store store(0ms, 3); // three chunks, answered only once all three arrived
    test::event_log log;
    auto ex =
        batch::make_executor<batch::operations<limited_get>>(test::store_batcher<limited_get>(store, "chunk", &log));
    std::vector<limited_get> gets;
    for (int i = 0; i < 25; ++i) gets.push_back({i});
    auto const out = ex.run(std::move(gets));
    BOOST_TEST(out.size() == 25u);
    BOOST_TEST(out[24] == 48);
    BOOST_TEST(ex.stats().batches == 3u);
    BOOST_TEST(!store.barrier_timed_out());
}

BOOST_AUTO_TEST_CASE(batch_keys_deduplication_and_caching_work_for_asynchronous_batchers) {
    test::socket_store store(0ms, 2);
    using keyed = batch::operations<shard_get>;
    auto ex = batch::make_executor<keyed>(test::store_batcher<shard_get>(store, "shards"));
    std::vector<shard_get> gets{{1, 1}, {2, 2}, {1, 3}};
    BOOST_TEST((ex.run(std::move(gets)) == std::vector<int>{2, 4, 6}));
    BOOST_TEST(ex.stats().batches == 2u); // one per shard, both in flight at once
    BOOST_TEST(!store.barrier_timed_out());

    test::socket_store plain(0ms);
    auto cached = batch::make_executor<batch::operations<cached_get>>(test::store_batcher<cached_get>(plain, "cached"));
    std::vector<cached_get> same{{5}, {5}, {6}};
    BOOST_TEST((cached.run(std::move(same)) == std::vector<int>{10, 10, 12}));
    BOOST_TEST(cached.stats().deduplicated == 1u);
    BOOST_TEST(cached.stats().operations == 2u);
    BOOST_TEST(cached.run(cached_get{5}) == 10);
    BOOST_TEST(cached.stats().cache_hits == 1u);
    BOOST_TEST(cached.stats().batches == 0u);
    BOOST_TEST(plain.requests() == 1u);
}

BOOST_AUTO_TEST_CASE(a_batch_past_its_timeout_fails_with_timeout_error_and_is_cancelled) {
    test::socket_store slow(300ms);
    test::event_log log;
    auto ex = batch::make_executor<ops>(test::store_batcher<get_user>(slow, "users", &log, 20ms),
                                        test::store_batcher<get_spouse>(slow, "spouses"), name_batcher{&log});
    BOOST_CHECK_THROW(ex.run(get_user{1}), batch::timeout_error);
    BOOST_TEST(index_of(log.events, "cancel users") < static_cast<long>(log.events.size()));
    BOOST_TEST(ex.run(get_name{3}) == "#3"); // the executor goes on
    // The connection skips the late answer of the cancelled batch before reading its own.
    ex.batcher_of<get_user>() = test::store_batcher<get_user>(slow, "users again", &log, 5000ms);
    BOOST_TEST(ex.run(get_user{4}) == 8);
}

namespace {

/// An asynchronous batcher whose batches fail in a chosen way.
struct failing_batcher {
    enum class how { at_submit, immediately_done, no_descriptor };
    how mode;

    struct pending {
        how mode;
        std::size_t count;
        batch::io_interest interest() const { return {-1, 0}; }
        void advance(short) {}
        bool done() const { return mode == how::immediately_done; }
        std::vector<int> results() const { return std::vector<int>(count, 7); }
    };

    pending submit(std::span<get_spouse const> in) const {
        if (mode == how::at_submit) throw test::boom("cannot submit");
        return {mode, in.size()};
    }
};

gen<std::string> spouse_or_error(int id) {
    try {
        int const s = co_yield get_spouse{id};
        co_return std::to_string(s);
    } catch (test::boom const& e) {
        co_return std::string("boom: ") + e.what();
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(a_batch_that_cannot_start_fails_only_its_own_operations) {
    test::socket_store store(0ms);
    test::event_log log;
    auto ex = batch::make_executor<ops>(test::store_batcher<get_user>(store, "users"),
                                        failing_batcher{failing_batcher::how::at_submit}, name_batcher{&log});
    auto [u, s, n] = ex.run(hana::make_tuple(get_user{1}, spouse_or_error(1), get_name{1}));
    BOOST_TEST(u == 2);
    BOOST_TEST(s == "boom: cannot submit");
    BOOST_TEST(n == "#1");

    ex.batcher_of<get_spouse>().mode = failing_batcher::how::immediately_done;
    BOOST_TEST(ex.run(get_spouse{1}) == 7); // done at once: delivered without a wait

    ex.batcher_of<get_spouse>().mode = failing_batcher::how::no_descriptor;
    BOOST_CHECK_THROW(ex.run(get_spouse{1}), batch::batcher_error); // not done, nothing to wait for
    BOOST_TEST(ex.run(get_user{3}) == 6);
}

BOOST_AUTO_TEST_CASE(outcomes_of_an_asynchronous_batch_fail_single_operations) {
    struct odd_fail {
        using value_type = int;
        std::vector<batch::outcome<int>> answer(int, std::span<int const> keys, std::size_t) const {
            std::vector<batch::outcome<int>> out;
            for (int k : keys) {
                if (k % 2) {
                    out.emplace_back(std::make_exception_ptr(test::boom("odd")));
                } else {
                    out.emplace_back(k);
                }
            }
            return out;
        }
    };
    test::async_world<odd_fail> w;
    std::vector<test::async_world<odd_fail>::a_op> two{w.a(2), w.a(4)};
    BOOST_TEST((w.ex.run(std::move(two)) == std::vector<int>{2, 4}));
    BOOST_CHECK_THROW(w.ex.run(w.a(3)), test::boom);
}

BOOST_AUTO_TEST_CASE(a_run_stopped_with_batches_in_flight_cancels_them_and_leaks_nothing) {
    test::socket_store store(50ms);
    test::event_log log;
    auto ex = batch::make_executor<ops>(test::store_batcher<get_user>(store, "users", &log),
                                        test::store_batcher<get_spouse>(store, "spouses", &log), name_batcher{&log});
    auto const before = batch::detail::frame_pool::local().live();
    {
        batch::active_run run(ex, profile(5));
        BOOST_TEST(!run.step()); // its round waits for the two batches
        BOOST_TEST(run.waits().size() == 2u);
        BOOST_TEST(batch::detail::frame_pool::local().live() > before);
    } // destroyed with both in flight
    BOOST_TEST(index_of(log.events, "cancel users") < static_cast<long>(log.events.size()));
    BOOST_TEST(index_of(log.events, "cancel spouses") < static_cast<long>(log.events.size()));
    BOOST_TEST(batch::detail::frame_pool::local().live() == before);
    BOOST_TEST(ex.run(profile(6)) == "#6:12/12"); // usable again, past the cancelled answers
}

BOOST_AUTO_TEST_CASE(an_active_run_is_stepped_by_hand) {
    test::socket_store store(1ms);
    test::event_log log;
    auto ex = batch::make_executor<ops>(test::store_batcher<get_user>(store, "users"),
                                        test::store_batcher<get_spouse>(store, "spouses"), name_batcher{&log});
    batch::active_run run(ex, profile(8));
    BOOST_CHECK_THROW(static_cast<void>(run.result()), batch::usage_error); // not done yet
    int waits = 0;
    while (!run.step()) {
        batch::io::wait_with_poll(run);
        ++waits;
    }
    BOOST_TEST(waits >= 1);
    BOOST_TEST(run.done());
    BOOST_TEST(run.result() == "#8:16/16");
}
