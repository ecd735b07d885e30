#define BOOST_TEST_MODULE redis
// The Redis batchers against a real server that scripts/stores started for this test run (the
// CTest fixture `stores`).
#include "stores_env.hpp"
#include "support.hpp"

#include <batch/stores/redis.hpp>

#include <boost/test/unit_test.hpp>

#include <poll.h>

#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

namespace rd = batch::redis;

struct get_value {
    std::string key;
    using result_type = std::optional<std::string>;
};
struct must_get_value {
    std::string key;
    using result_type = std::string;
};
struct get_counter {
    long key;
    using result_type = std::optional<std::string>;
};
struct get_profile {
    std::string key;
    using result_type = std::optional<std::map<std::string, std::string>>;
};

/// The data, written once per test program through a plain command.
struct server {
    test::stores_env env = test::stores_env::read();
    rd::connection conn{env.redis};

    server() {
        run_blocking({{"FLUSHALL"},
                      {"SET", "plain", "one"},
                      {"SET", "it's \"quoted\"", "two"},
                      {"SET", "a,b,{c} \r\n", "three"},
                      {"SET", "Zoë 東京 🚀", "four"},
                      {"SET", "17", "seventeen"},
                      {"HSET", "profile:1", "name", "Ada", "city", "London"},
                      {"SET", "not a hash", "x"}});
        std::vector<std::vector<std::string>> many;
        for (int i = 0; i < 100'000; i += 2) many.push_back({"SET", test::numbered("k", i), test::numbered("v", i)});
        run_blocking(many);
    }

    // Sends commands as one batch and waits for their replies.
    void run_blocking(std::vector<std::vector<std::string>> const& commands) {
        auto const n = conn.send(commands);
        while (!conn.answered(n)) {
            auto const want = conn.interest();
            pollfd p{want.fd, want.events, 0};
            ::poll(&p, 1, 5000);
            conn.pump(p.revents);
        }
        for (auto const& r : conn.take(n)) {
            if (r->type == REDIS_REPLY_ERROR) throw std::runtime_error(r->str);
        }
    }
};

server& redis() {
    static server s;
    return s;
}

/// Asks which connection it is on (CLIENT ID), at most 10 to a batch.
struct whose {
    int n;
    using result_type = long long;
    static constexpr std::size_t max_batch_size = 10;
};

} // namespace

BOOST_AUTO_TEST_CASE(present_and_missing_keys_with_one_mget) {
    auto& s = redis();
    using ops = batch::operations<get_value, must_get_value, get_counter>;
    auto ex = batch::make_executor<ops>(rd::get<get_value>(s.conn, &get_value::key),
                                        rd::get<must_get_value>(s.conn, &must_get_value::key),
                                        rd::get<get_counter>(s.conn, &get_counter::key));
    std::vector<get_value> gets{{"plain"}, {"missing"}, {"plain"}};
    auto const out = ex.run(std::move(gets));
    BOOST_TEST(out[0].value_or("?") == "one");
    BOOST_TEST(!out[1].has_value());
    BOOST_TEST(out[2].value_or("?") == "one"); // duplicate keys in a batch
    BOOST_TEST(ex.stats().batches == 1u);
    BOOST_TEST(ex.run(must_get_value{"plain"}) == "one");
    BOOST_CHECK_THROW(ex.run(must_get_value{"missing"}), rd::not_found);
    BOOST_TEST(ex.run(get_counter{17}).value_or("?") == "seventeen"); // integer keys
}

BOOST_AUTO_TEST_CASE(a_key_that_holds_another_type_fails_its_operation_saying_so_instead_of_reading_as_nothing) {
    auto& s = redis();
    using ops = batch::operations<get_value, must_get_value>;
    auto ex = batch::make_executor<ops>(rd::get<get_value>(s.conn, &get_value::key),
                                        rd::get<must_get_value>(s.conn, &must_get_value::key));
    // MGET answers nothing for both "missing" and the hash "profile:1": their TYPEs tell them apart.
    std::vector<get_value> gets{{"plain"}, {"profile:1"}, {"missing"}};
    auto const out = ex.run(batch::settle(std::move(gets)));
    BOOST_TEST(out[0].value().value_or("?") == "one");
    BOOST_REQUIRE(out[1].error());
    try {
        std::rethrow_exception(out[1].error());
    } catch (rd::error const& e) {
        std::string const what = e.what();
        BOOST_TEST(what == "batch::redis: the key 'profile:1' holds a hash, not a string (WRONGTYPE)", what);
    }
    BOOST_TEST(!out[2].value().has_value()); // nothing there: empty, as before
    BOOST_TEST(ex.stats().batches == 1u);    // the TYPEs are part of the batch
    BOOST_CHECK_THROW(ex.run(must_get_value{"profile:1"}), rd::error);
    BOOST_CHECK_THROW(ex.run(must_get_value{"missing"}), rd::not_found);
}

BOOST_AUTO_TEST_CASE(keys_with_quotes_commas_control_characters_and_non_ascii_text) {
    auto& s = redis();
    auto ex = batch::make_executor<batch::operations<get_value>>(rd::get<get_value>(s.conn, &get_value::key));
    std::vector<get_value> gets{{"it's \"quoted\""}, {"a,b,{c} \r\n"}, {"Zoë 東京 🚀"}};
    auto const out = ex.run(std::move(gets));
    BOOST_TEST(out[0].value_or("?") == "two");
    BOOST_TEST(out[1].value_or("?") == "three");
    BOOST_TEST(out[2].value_or("?") == "four");
}

BOOST_AUTO_TEST_CASE(an_empty_batch_sends_nothing) {
    auto& s = redis();
    auto batcher = rd::get<get_value>(s.conn, &get_value::key);
    auto pending = batcher.submit(std::span<get_value const>());
    BOOST_TEST(pending.done());
    BOOST_TEST(pending.results().empty());
}

BOOST_AUTO_TEST_CASE(a_batch_of_100000_keys) {
    auto& s = redis();
    auto ex = batch::make_executor<batch::operations<get_value>>(rd::get<get_value>(s.conn, &get_value::key));
    std::vector<get_value> gets;
    for (int i = 0; i < 100'000; ++i) gets.push_back({test::numbered("k", i)});
    auto const out = ex.run(std::move(gets));
    BOOST_REQUIRE(out.size() == 100'000u);
    std::size_t right = 0;
    for (int i = 0; i < 100'000; ++i) {
        auto const& v = out[static_cast<std::size_t>(i)];
        right += i % 2 == 0 ? v == test::numbered("v", i) : !v.has_value();
    }
    BOOST_TEST(right == 100'000u);
    BOOST_TEST(ex.stats().batches == 1u);
}

BOOST_AUTO_TEST_CASE(hashes_with_pipelined_hgetall_and_an_error_reply_fails_only_its_operation) {
    auto& s = redis();
    using ops = batch::operations<get_profile>;
    auto ex = batch::make_executor<ops>(rd::hgetall<get_profile>(s.conn, &get_profile::key));
    auto [found, missing, wrong] = ex.run(boost::hana::make_tuple(get_profile{"profile:1"}, get_profile{"profile:2"},
                                                                  test::failure_of<ops>(get_profile{"not a hash"})));
    BOOST_REQUIRE(found.has_value());
    BOOST_TEST(found->at("name") == "Ada");
    BOOST_TEST(found->at("city") == "London");
    BOOST_TEST(!missing.has_value());
    BOOST_TEST(wrong.find("WRONGTYPE") != std::string::npos, wrong);
    BOOST_TEST(ex.stats().batches == 1u);                     // three HGETALLs in one pipelined batch
    BOOST_TEST(ex.run(get_profile{"profile:1"}).has_value()); // and the connection goes on
}

BOOST_AUTO_TEST_CASE(a_pool_spreads_the_batches_of_a_round_over_its_connections) {
    auto& s = redis();
    rd::pool connections(3, s.env.redis);
    // Each reply tells which connection it came on.
    auto ex = batch::make_executor<batch::operations<whose>>(
        batch::redis::command_batcher<whose, std::vector<std::string> (*)(whose const&),
                                      long long (*)(rd::reply const&, whose const&)>(
            connections,
            [](whose const&) {
                return std::vector<std::string>{"CLIENT", "ID"};
            },
            [](rd::reply const& r, whose const&) { return r.integer(); }));
    std::vector<whose> ops;
    for (int i = 0; i < 30; ++i) ops.push_back({i});
    auto const ids = ex.run(std::move(ops));
    BOOST_TEST(ex.stats().batches == 3u);
    BOOST_TEST(std::set<long long>(ids.begin(), ids.end()).size() == 3u);
}

namespace {
struct get_number {
    std::string key;
    using result_type = std::optional<long long>;
};
} // namespace

BOOST_AUTO_TEST_CASE(a_failing_decoder_fails_its_operation_naming_the_key_with_its_own_exception_nested) {
    auto& s = redis();
    auto ex = batch::make_executor<batch::operations<get_number>>(
        rd::get<get_number>(s.conn, &get_number::key, [](std::string_view v) { return std::stoll(std::string(v)); }));
    try {
        ex.run(get_number{"plain"}); // "one"
        BOOST_FAIL("decoding 'one' as a number succeeded");
    } catch (rd::error const& e) {
        std::string const what = e.what();
        BOOST_TEST(what.find("decoding the value at key 'plain' failed: stoll") != std::string::npos, what);
        BOOST_CHECK_THROW(std::rethrow_if_nested(e), std::invalid_argument);
    }
    BOOST_TEST(ex.run(get_number{"missing"}).has_value() == false); // the connection goes on
}

BOOST_AUTO_TEST_CASE(a_timeout_fails_a_stalled_batch_naming_its_type_and_store_and_the_connection_goes_on) {
    auto& s = redis();
    // Redis stops answering clients for 300 ms (CLIENT PAUSE), as a stalled server would.
    rd::connection other(s.env.redis);
    auto ex = batch::make_executor<batch::operations<get_value>>(
        rd::get<get_value>(s.conn, &get_value::key).with_timeout(std::chrono::milliseconds(50)));
    BOOST_TEST(rd::get<get_value>(s.conn, &get_value::key).timeout().count() == 0); // none by default
    auto const paused = other.send({{"CLIENT", "PAUSE", "300"}});
    while (!other.answered(paused)) {
        pollfd p{other.interest().fd, other.interest().events, 0};
        ::poll(&p, 1, 5000);
        other.pump(p.revents);
    }
    other.take(paused);
    auto const start = std::chrono::steady_clock::now();
    try {
        ex.run(get_value{"plain"});
        BOOST_FAIL("a stalled batch did not time out");
    } catch (batch::timeout_error const& e) {
        std::string const what = e.what();
        BOOST_TEST(what.find("get_value") != std::string::npos, what);
        BOOST_TEST(what.find("on redis") != std::string::npos, what);
    }
    BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::milliseconds(250)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the pause ends; the late answer is dropped
    BOOST_TEST(ex.run(get_value{"plain"}).value_or("?") == "one");
}
