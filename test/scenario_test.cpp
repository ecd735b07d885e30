#define BOOST_TEST_MODULE scenario
// The original project's test scenarios, re-expressed in C++.
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace test;

namespace {

// Fibonacci with fib(0) = fib(1) = 1, written three ways.
gen<int> fib_plain(int n) {
    if (n <= 1) co_return 1;
    auto [a, b] = co_yield hana::make_tuple(fib_plain(n - 1), fib_plain(n - 2));
    co_return a + b;
}

gen<int> fib_leaves(int n) {
    if (n <= 1) {
        int one = co_yield identity{1};
        co_return one;
    }
    auto [a, b] = co_yield hana::make_tuple(fib_leaves(n - 1), fib_leaves(n - 2));
    co_return a + b;
}

gen<int> fib_every_node(int n) {
    if (n <= 1) {
        int one = co_yield identity{1};
        co_return one;
    }
    auto [i, j] = co_yield hana::make_tuple(identity{n - 1}, identity{n - 2});
    auto [a, b] = co_yield hana::make_tuple(fib_every_node(i), fib_every_node(j));
    co_return a + b;
}

} // namespace

BOOST_AUTO_TEST_CASE(fibonacci_without_operations) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(fib_plain(18)) == 4181);
    BOOST_TEST(ex.stats().rounds == 0u);
    BOOST_TEST(ex.stats().batches == 0u);
}

BOOST_AUTO_TEST_CASE(fibonacci_with_operations_at_the_leaves) {
    identity_batcher ids;
    auto ex = batch::make_executor<ops>(get_batcher{}, ids, put_batcher{});
    BOOST_TEST(ex.run(fib_leaves(18)) == 4181);
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats().batches == 1u);
    BOOST_TEST(ex.stats().operations == 4181u);
}

BOOST_AUTO_TEST_CASE(fibonacci_with_operations_at_every_node) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(fib_every_node(18)) == 4181);
    BOOST_TEST(ex.stats().rounds == 18u);
    BOOST_TEST(ex.stats().batches == 18u);
    BOOST_TEST(ex.stats().operations == 12541u);
    BOOST_TEST(ex.stats().generators == 8361u);
}

BOOST_AUTO_TEST_CASE(two_fibonaccis_at_once_share_rounds) {
    auto ex = make_test_executor();
    auto [a, b, c] = ex.run(hana::make_tuple(fib_every_node(12), fib_every_node(15), fib_leaves(10)));
    BOOST_TEST(a == 233);
    BOOST_TEST(b == 987);
    BOOST_TEST(c == 89);
    BOOST_TEST(ex.stats().rounds == 15u);
    BOOST_TEST(ex.stats().batches == 15u);

    auto [d, e] = ex.run(hana::make_tuple(fib_plain(10), fib_leaves(12)));
    BOOST_TEST(d == 89);
    BOOST_TEST(e == 233);
    BOOST_TEST(ex.stats().rounds == 1u);
}

namespace {

// The original README: one data-store operation type, keyed by string. Operations that hold
// strings get a constructor, as GCC 12 needs (see the README's note on compilers).
struct data_store_get {
    explicit data_store_get(std::string k) : key(std::move(k)) {}
    std::string key;
    using result_type = std::string;
};
using store_ops = batch::operations<data_store_get>;
template <class T>
using store_gen = batch::gen<T, store_ops>;

struct user {
    std::string data;
};

store_gen<user> gen_user(int id) {
    std::string data = co_yield data_store_get{"user:" + std::to_string(id)};
    co_return user{data};
}

store_gen<user> gen_spouse(int id) {
    std::string spouse_id = co_yield data_store_get{"spouseId:" + std::to_string(id)};
    user spouse = co_yield gen_user(std::stoi(spouse_id));
    co_return spouse;
}

store_gen<std::pair<user, user>> gen_spouses(int id) {
    auto [u, s] = co_yield hana::make_tuple(gen_user(id), gen_spouse(id));
    co_return std::pair{u, s};
}

struct data_store {
    std::map<std::string, std::string> values;
    int round_trips = 0;

    std::vector<std::string> operator()(std::span<data_store_get const> in) {
        ++round_trips;
        std::vector<std::string> out;
        for (auto const& op : in) out.push_back(values.at(op.key));
        return out;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(spouses_take_two_round_trips_not_three) {
    data_store db;
    db.values = {{"user:12345", "Alice"}, {"spouseId:12345", "777"}, {"user:777", "Bob"}};
    auto ex = batch::make_executor<store_ops>(std::ref(db));
    auto [u, s] = ex.run(gen_spouses(12345));
    BOOST_TEST(u.data == "Alice");
    BOOST_TEST(s.data == "Bob");
    BOOST_TEST(db.round_trips == 2);
    BOOST_TEST(ex.stats().batches == 2u);
    BOOST_TEST(ex.stats().rounds == 2u);
    BOOST_TEST(ex.stats().operations == 3u);
}

namespace {

// A batcher that is itself a generator: "fetch object" yields one database query per object
// type (its batch_key), and those queries batch with the program's own queries.
struct fetch_object {
    fetch_object(std::string t, int i) : type(std::move(t)), id(i) {}
    std::string type;
    int id;
    using result_type = std::string;
    std::string const& batch_key() const { return type; }
};
struct db_query {
    db_query(std::string t, std::vector<int> i) : table(std::move(t)), ids(std::move(i)) {}
    std::string table;
    std::vector<int> ids;
    using result_type = std::vector<std::string>;
};
using object_ops = batch::operations<fetch_object, db_query>;
template <class T>
using object_gen = batch::gen<T, object_ops>;

object_gen<std::vector<std::string>> fetch_objects(std::span<fetch_object const> in) {
    db_query query{in.front().type, {}};
    for (auto const& op : in) query.ids.push_back(op.id);
    std::vector<std::string> rows = co_yield std::move(query);
    co_return rows;
}

struct database {
    std::vector<std::vector<db_query>> calls;

    std::vector<std::vector<std::string>> operator()(std::span<db_query const> in) {
        calls.emplace_back(in.begin(), in.end());
        std::vector<std::vector<std::string>> out;
        for (auto const& q : in) {
            std::vector<std::string> rows;
            for (int id : q.ids) rows.push_back(q.table + "#" + std::to_string(id));
            out.push_back(std::move(rows));
        }
        return out;
    }
};

object_gen<std::string> describe(std::string type, int id) {
    std::string object = co_yield fetch_object{std::move(type), id};
    co_return "<" + object + ">";
}

} // namespace

BOOST_AUTO_TEST_CASE(a_generator_batcher_yields_operations_of_another_type) {
    database db;
    auto ex = batch::make_executor<object_ops>(fetch_objects, std::ref(db));
    std::vector<object_gen<std::string>> gens;
    gens.push_back(describe("user", 1));
    gens.push_back(describe("post", 7));
    gens.push_back(describe("user", 2));
    gens.push_back(describe("comment", 3));
    auto [described, direct] = ex.run(hana::make_tuple(std::move(gens), db_query{"audit", {9}}));
    BOOST_TEST((described == std::vector<std::string>{"<user#1>", "<post#7>", "<user#2>", "<comment#3>"}));
    BOOST_TEST((direct == std::vector<std::string>{"audit#9"}));
    // Round 1: fetch_object per type (3 calls) and the program's own query; round 2: the three
    // queries the batchers yielded, in one database call.
    BOOST_TEST(ex.stats().rounds == 2u);
    BOOST_TEST(ex.stats_of<fetch_object>().batches == 3u);
    BOOST_TEST(ex.stats_of<db_query>().batches == 2u);
    BOOST_REQUIRE(db.calls.size() == 2u);
    BOOST_TEST(db.calls[1].size() == 3u);
    BOOST_TEST(db.calls[1][0].table == "user");
    BOOST_TEST((db.calls[1][0].ids == std::vector<int>{1, 2}));
}

namespace {

// A read-through cache: look in the cache; on a miss read the source and fill the cache.
struct cache_get {
    explicit cache_get(std::string k) : key(std::move(k)) {}
    std::string key;
    using result_type = std::optional<std::string>;
};
struct hash_get {
    explicit hash_get(std::string k) : key(std::move(k)) {}
    std::string key;
    using result_type = std::string;
};
struct cache_set {
    cache_set(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
    std::string key;
    std::string value;
    using result_type = void;
};
using cache_ops = batch::operations<cache_get, hash_get, cache_set>;
template <class T>
using cache_gen = batch::gen<T, cache_ops>;

struct cache_world {
    std::map<std::string, std::string> cache;
    std::map<std::string, std::string> source;
    int cache_gets = 0;
    int hash_gets = 0;
    int cache_sets = 0;
};

cache_gen<std::string> read_through(std::string key) {
    std::optional<std::string> cached = co_yield cache_get{key};
    if (cached) co_return *cached;
    std::string value = co_yield hash_get{key};
    co_yield cache_set{key, value};
    co_return value;
}

cache_gen<int> long_serial(int steps) {
    int total = 0;
    for (int i = 0; i < steps; ++i) {
        std::string v = co_yield hash_get{"n" + std::to_string(i)};
        total += std::stoi(v);
    }
    co_return total;
}

auto make_cache_executor(cache_world& w) {
    return batch::make_executor<cache_ops>(
        [&w](std::span<cache_get const> in) {
            ++w.cache_gets;
            std::vector<std::optional<std::string>> out;
            for (auto const& op : in) {
                auto it = w.cache.find(op.key);
                out.push_back(it == w.cache.end() ? std::nullopt : std::optional(it->second));
            }
            return out;
        },
        [&w](std::span<hash_get const> in) {
            ++w.hash_gets;
            std::vector<std::string> out;
            for (auto const& op : in) out.push_back(w.source.at(op.key));
            return out;
        },
        [&w](std::span<cache_set const> in) {
            ++w.cache_sets;
            for (auto const& op : in) w.cache[op.key] = op.value;
        });
}

} // namespace

BOOST_AUTO_TEST_CASE(a_read_through_cache_batches_with_a_long_serial_generator) {
    cache_world w;
    w.source = {{"a", "A"}, {"b", "B"}, {"c", "C"}};
    for (int i = 0; i < 5; ++i) w.source["n" + std::to_string(i)] = std::to_string(i);
    w.cache = {{"b", "cached-B"}};
    auto ex = make_cache_executor(w);
    auto [a, b, c, serial] =
        ex.run(hana::make_tuple(read_through("a"), read_through("b"), read_through("c"), long_serial(5)));
    BOOST_TEST(a == "A");
    BOOST_TEST(b == "cached-B");
    BOOST_TEST(c == "C");
    BOOST_TEST(serial == 0 + 1 + 2 + 3 + 4);
    // Rounds: the serial generator needs 5; the cache misses ride along in rounds 1 to 3.
    BOOST_TEST(ex.stats().rounds == 5u);
    BOOST_TEST(w.cache_gets == 1);
    BOOST_TEST(w.hash_gets == 5);
    BOOST_TEST(w.cache_sets == 1);
    BOOST_TEST(ex.stats_of<hash_get>().operations == 5u + 2u);
    BOOST_TEST(w.cache.at("a") == "A");

    // Now everything is cached: one round, no source reads.
    auto again = ex.run(read_through("a"));
    BOOST_TEST(again == "A");
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats_of<hash_get>().batches == 0u);
}
