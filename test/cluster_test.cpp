#define BOOST_TEST_MODULE cluster
// Redis Cluster: a batch split by master, sent in parallel and joined in order, against a real
// local cluster of 3 masters with a replica each (the CTest fixture `stores_cluster`, started
// by scripts/stores); slots moved while the client's map is old (MOVED followed); a master
// killed in the middle of a load (its replica takes over; every operation ends with its value
// or a clear error, and later batches succeed). The failover case runs last: it leaves the
// cluster with a master down, as the fixture's stop expects nothing of it.
#include "stores_env.hpp"

#include <batch/batch.hpp>
#include <batch/stores/redis/cluster.hpp>

#include <boost/test/unit_test.hpp>

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace rd = batch::redis;

struct get_value {
    std::string key;
    using result_type = std::optional<std::string>;
};
using ops = batch::operations<get_value>;

std::string cluster_nodes() {
    char const* path = std::getenv("BATCH_STORES_CLUSTER");
    if (!path) throw std::runtime_error("BATCH_STORES_CLUSTER is not set: run the cluster test through ctest");
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("BATCH_REDIS_CLUSTER=", 0) == 0) {
            std::string v = line.substr(line.find('=') + 1);
            return v.substr(1, v.size() - 2);
        }
    }
    throw std::runtime_error("no BATCH_REDIS_CLUSTER in " + std::string(path));
}

/// Runs one command on the node at "host:port" (blocking) and gives its reply as text.
std::string command_at(std::string const& address, std::string const& command) {
    auto const colon = address.rfind(':');
    redisContext* c = redisConnect(address.substr(0, colon).c_str(), std::stoi(address.substr(colon + 1)));
    if (!c || c->err) throw std::runtime_error("cannot connect to " + address);
    auto* r = static_cast<redisReply*>(redisCommand(c, command.c_str()));
    std::string out = r && r->str ? std::string(r->str, r->len) : std::string();
    if (r) freeReplyObject(r);
    redisFree(c);
    return out;
}

/// GET calls a node has served so far.
long get_calls(std::string const& address) {
    std::string const stats = command_at(address, "INFO commandstats");
    auto const at = stats.find("cmdstat_get:calls=");
    return at == std::string::npos ? 0 : std::stol(stats.substr(at + 18));
}

/// Writes key<i> = value<i> for i in [0, n) through the cluster's own connections.
void load(rd::cluster& c, int n) {
    std::map<rd::connection*, std::vector<std::vector<std::string>>> by_node;
    for (int i = 0; i < n; ++i) {
        std::string const key = "key" + std::to_string(i);
        by_node[&c.master_of(rd::slot_of(key))].push_back({"SET", key, "value" + std::to_string(i)});
    }
    for (auto& [conn, commands] : by_node) {
        auto const number = conn->send(commands);
        while (!conn->answered(number)) {
            auto const want = conn->interest();
            pollfd p{want.fd, want.events, 0};
            ::poll(&p, 1, 5000);
            conn->pump(p.revents);
        }
        for (auto const& r : conn->take(number)) {
            if (r->type == REDIS_REPLY_ERROR) throw std::runtime_error(r->str);
        }
    }
}

auto getter(rd::cluster& c) { return rd::cluster_get<get_value>(c, &get_value::key); }

std::vector<get_value> keys(int from, int to) {
    std::vector<get_value> out;
    for (int i = from; i < to; ++i) out.push_back({"key" + std::to_string(i)});
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(slots_as_redis_computes_them) {
    BOOST_TEST(rd::crc16("123456789") == 0x31C3);
    BOOST_TEST(rd::slot_of("foo") == 12182);
    BOOST_TEST(rd::slot_of("{user1000}.following") == rd::slot_of("{user1000}.followers"));
    BOOST_TEST(rd::slot_of("{user1000}.following") == rd::slot_of("user1000"));
    BOOST_TEST(rd::slot_of("foo{}{bar}") == rd::slot_of("foo{}{bar}")); // an empty tag: the whole key
    BOOST_TEST(rd::slot_of("foo{}{bar}") != rd::slot_of("bar"));
    BOOST_TEST(rd::slot_of("foo{{bar}}zap") == rd::slot_of("{bar"));
    auto const nodes = cluster_nodes();
    auto const first = nodes.substr(0, nodes.find(','));
    BOOST_TEST(command_at(first, "CLUSTER KEYSLOT somekey") == ""); // an integer reply has no text
    auto const colon = first.rfind(':');
    redisContext* c = redisConnect(first.substr(0, colon).c_str(), std::stoi(first.substr(colon + 1)));
    for (std::string key : {"somekey", "{tag}a", "x{y}z", "Zoë 東京"}) {
        auto* r = static_cast<redisReply*>(redisCommand(c, "CLUSTER KEYSLOT %b", key.data(), key.size()));
        BOOST_TEST(r->integer == rd::slot_of(key), key);
        freeReplyObject(r);
    }
    redisFree(c);
}

BOOST_AUTO_TEST_CASE(a_batch_is_split_by_master_and_joined_in_order) {
    rd::cluster c(cluster_nodes());
    BOOST_TEST(c.masters().size() == 3u);
    load(c, 3000);
    std::map<std::string, long> before;
    for (auto const& m : c.masters()) before[m] = get_calls(m);
    auto ex = batch::make_executor<ops>(getter(c));
    auto gets = keys(0, 3000);
    gets.push_back({"no such key"});
    gets.push_back({"key7"}); // twice in one batch
    auto const out = ex.run(gets);
    BOOST_TEST(ex.stats().batches == 1u);
    std::size_t right = 0;
    for (int i = 0; i < 3000; ++i) right += out[static_cast<std::size_t>(i)] == "value" + std::to_string(i);
    BOOST_TEST(right == 3000u);
    BOOST_TEST(!out[3000].has_value());
    BOOST_TEST(out[3001].value_or("?") == "value7");
    long sent = 0;
    for (auto const& m : c.masters()) {
        long const calls = get_calls(m) - before[m];
        BOOST_TEST(calls > 500, m << " served " << calls << " GETs");
        sent += calls;
    }
    BOOST_TEST(sent == 3002);
}

BOOST_AUTO_TEST_CASE(slots_moved_after_the_map_was_read_are_followed) {
    rd::cluster c(cluster_nodes());
    load(c, 2000);
    auto ex = batch::make_executor<ops>(getter(c));
    BOOST_TEST(ex.run(get_value{"key1"}).value_or("?") == "value1");
    // Move 1,000 slots from the first master to the second, behind the client's back.
    auto const from = c.masters()[0], to = c.masters()[1];
    auto const id_of = [](std::string const& address) { return command_at(address, "CLUSTER MYID"); };
    std::string const reshard = "redis-cli --cluster reshard " + from + " --cluster-from " + id_of(from)
                                + " --cluster-to " + id_of(to) + " --cluster-slots 1000 --cluster-yes >/dev/null 2>&1";
    BOOST_REQUIRE(std::system(reshard.c_str()) == 0);
    std::size_t const refreshes = c.refreshes();
    auto const out = ex.run(keys(0, 2000));
    std::size_t right = 0;
    for (int i = 0; i < 2000; ++i) right += out[static_cast<std::size_t>(i)] == "value" + std::to_string(i);
    BOOST_TEST(right == 2000u);
    BOOST_TEST(c.refreshes() == refreshes); // followed MOVED, one slot at a time, without a new map
    // The moved slots are remembered: the next batch goes straight to their new master.
    long const before = get_calls(from);
    BOOST_TEST(ex.run(keys(0, 2000)).size() == 2000u);
    BOOST_TEST(get_calls(from) - before < 1400); // only its remaining slots' keys
}

BOOST_AUTO_TEST_CASE(a_master_killed_in_the_middle_of_a_load_fails_over) {
    rd::cluster c(cluster_nodes());
    load(c, 1000);
    auto ex = batch::make_executor<ops>(getter(c));
    std::string const victim = c.masters()[2];
    std::size_t right = 0, failed = 0, wrong = 0, other = 0;
    std::map<std::string, std::size_t> errors; ///< What else failed, by message.
    auto const start = std::chrono::steady_clock::now();
    bool killed = false;
    // Batches of 1,000 keys for 8 seconds; the third master is killed after the first second.
    while (std::chrono::steady_clock::now() - start < 8s) {
        if (!killed && std::chrono::steady_clock::now() - start > 1s) {
            command_at(victim, "SHUTDOWN NOSAVE NOW"); // as a crash would: no failover handed over
            killed = true;
        }
        std::vector<batch::outcome<std::optional<std::string>>> out;
        auto const settled = ex.run(batch::settle(keys(0, 1000)));
        for (std::size_t i = 0; i < settled.size(); ++i) {
            auto const& o = settled[i];
            if (o.has_value()) {
                ++(o.value() == "value" + std::to_string(i) ? right : wrong);
                continue;
            }
            try {
                std::rethrow_exception(o.error());
            } catch (rd::connection_lost const&) {
                ++failed;
            } catch (rd::error const& e) { // the cluster said why (CLUSTERDOWN while it fails over)
                ++errors[std::string(e.what()).substr(0, 40)];
            } catch (...) {
                ++other;
            }
        }
        std::this_thread::sleep_for(50ms);
    }
    std::string said;
    for (auto const& [what, count] : errors) said += "\n  " + std::to_string(count) + " x " + what;
    BOOST_TEST_MESSAGE(right << " right, " << failed << " connection_lost, " << other << " other" << said);
    BOOST_TEST(killed);
    BOOST_TEST(wrong == 0u);
    BOOST_TEST(other == 0u);
    BOOST_TEST(failed > 0u); // the victim's keys failed while no one served them
    // After the failover: every key, with its value.
    auto const after = ex.run(keys(0, 1000));
    std::size_t now_right = 0;
    for (std::size_t i = 0; i < after.size(); ++i) now_right += after[i] == "value" + std::to_string(i);
    BOOST_TEST(now_right == 1000u);
    BOOST_TEST((std::find(c.masters().begin(), c.masters().end(), victim) == c.masters().end()));
}
