#define BOOST_TEST_MODULE executor
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <exception>
#include <span>
#include <string>
#include <utility>
#include <vector>

using namespace test;

namespace {

// Operations grouped by a key: one batcher call per shard.
struct shard_get {
    int shard;
    int key;
    using result_type = int;
    int batch_key() const { return shard; }
};

// A key that has no std::hash: grouped by == alone.
struct region {
    std::string name;
    bool operator==(region const&) const = default;
};
struct region_get {
    region where;
    int key;
    using result_type = int;
    region batch_key() const { return where; }
};

using keyed_ops = batch::operations<shard_get, region_get>;

struct shard_batcher {
    std::shared_ptr<std::vector<std::vector<shard_get>>> calls =
        std::make_shared<std::vector<std::vector<shard_get>>>();
    std::vector<int> operator()(std::span<shard_get const> in) const {
        calls->emplace_back(in.begin(), in.end());
        std::vector<int> out;
        for (auto const& op : in) out.push_back(op.shard * 100 + op.key);
        return out;
    }
};

struct region_batcher {
    std::shared_ptr<int> calls = std::make_shared<int>(0);
    std::vector<int> operator()(std::span<region_get const> in) const {
        ++*calls;
        std::vector<int> out;
        for (auto const& op : in) out.push_back(static_cast<int>(op.where.name.size()) * 10 + op.key);
        return out;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(batch_key_splits_calls_and_equal_keys_share_one) {
    shard_batcher shards;
    region_batcher regions;
    auto ex = batch::make_executor<keyed_ops>(shards, regions);
    std::vector<shard_get> in{{1, 1}, {2, 2}, {1, 3}, {3, 4}, {2, 5}};
    auto out = ex.run(std::move(in));
    BOOST_TEST((out == std::vector<int>{101, 202, 103, 304, 205}));
    BOOST_REQUIRE(shards.calls->size() == 3u);
    // One call per key, in the order each key first appeared.
    BOOST_TEST((*shards.calls)[0].size() == 2u);
    BOOST_TEST((*shards.calls)[0][0].shard == 1);
    BOOST_TEST((*shards.calls)[1][0].shard == 2);
    BOOST_TEST((*shards.calls)[2][0].shard == 3);
    BOOST_TEST(ex.stats().rounds == 1u);
    BOOST_TEST(ex.stats().batches == 3u);
    BOOST_TEST(ex.stats().largest_batch == 2u);

    std::vector<region_get> rin{{{"eu"}, 1}, {{"us-east"}, 2}, {{"eu"}, 3}};
    auto rout = ex.run(std::move(rin));
    BOOST_TEST((rout == std::vector<int>{21, 72, 23}));
    BOOST_TEST(*regions.calls == 2);
}

namespace {

gen<int> calls_run_on_its_own_executor(batch::executor<ops, get_batcher, identity_batcher, put_batcher>*& self) {
    try {
        self->run(get{1});
    } catch (batch::usage_error const&) {
        co_return 1;
    }
    co_return 0;
}

gen<int> runs_another_executor(int key) {
    auto inner = make_test_executor();
    int a = inner.run(get{key});
    int b = co_yield get{key + 1};
    co_return a + b;
}

} // namespace

BOOST_AUTO_TEST_CASE(run_inside_own_run_is_a_usage_error_and_executor_stays_usable) {
    auto ex = make_test_executor();
    auto* self = &ex;
    BOOST_TEST(ex.run(calls_run_on_its_own_executor(self)) == 1);
    BOOST_TEST(ex.run(get{2}) == 4);
}

BOOST_AUTO_TEST_CASE(a_nested_run_on_another_executor_works) {
    auto ex = make_test_executor();
    BOOST_TEST(ex.run(runs_another_executor(10)) == 20 + 22);
    BOOST_TEST(ex.stats().batches == 1u);
}

BOOST_AUTO_TEST_CASE(stats_describe_the_last_run_only) {
    auto ex = make_test_executor();
    std::vector<get> in{{1}, {2}, {3}};
    ex.run(std::move(in));
    BOOST_TEST(ex.stats().operations == 3u);
    ex.run(get{1});
    BOOST_TEST(ex.stats().operations == 1u);
    BOOST_TEST(ex.stats_of<get>().operations == 1u);
    BOOST_TEST(ex.stats_of<identity>().batches == 0u);
}
