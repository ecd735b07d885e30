#define BOOST_TEST_MODULE dynamic
// What only the runtime-typed baseline has: batchers grouped by runtime identity, type-erased
// results, and its own error reports.
#include "support.hpp"
#include "worlds.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace test;

namespace {

using doubling_world = dynamic_world<doubling>;

// One batcher object per operation, equal when their shards are: the original's rule.
struct shard_batcher final : dyn::batcher {
    int shard;
    std::shared_ptr<std::vector<std::size_t>> calls;
    shard_batcher(int s, std::shared_ptr<std::vector<std::size_t>> c) : shard(s), calls(std::move(c)) {}
    std::vector<std::any> batch(std::span<dyn::operation const* const> ops) override;
    bool equals(dyn::batcher const& other) const noexcept override {
        auto const* o = dynamic_cast<shard_batcher const*>(&other);
        return o && o->shard == shard;
    }
    std::size_t hash() const noexcept override { return std::hash<int>{}(shard); }
};

struct shard_get final : dyn::operation_of<int> {
    int key;
    shard_batcher server;
    shard_get(int s, int k, std::shared_ptr<std::vector<std::size_t>> calls) : key(k), server(s, std::move(calls)) {}
    dyn::batcher& get_batcher() const override { return const_cast<shard_batcher&>(server); }
};

std::vector<std::any> shard_batcher::batch(std::span<dyn::operation const* const> ops) {
    calls->push_back(ops.size());
    std::vector<std::any> out;
    for (auto const* op : ops) out.emplace_back(shard * 100 + static_cast<shard_get const*>(op)->key);
    return out;
}

// Answers with the wrong count, the wrong type, or a per-operation failure.
struct misbehaving_batcher final : dyn::batcher {
    int mode = 0;
    std::vector<std::any> batch(std::span<dyn::operation const* const> ops) override {
        std::vector<std::any> out;
        for (std::size_t i = 0; i < ops.size(); ++i) {
            if (mode == 0) out.emplace_back(std::string("not an int"));
            if (mode == 1 && i == 0) out.emplace_back(std::make_exception_ptr(boom("first only")));
            if (mode == 1 && i != 0) out.emplace_back(7);
            if (mode == 2) out.emplace_back(1);
        }
        if (mode == 2) out.emplace_back(1);
        return out;
    }
};

struct misbehaving_get final : dyn::operation_of<int> {
    misbehaving_batcher* server;
    explicit misbehaving_get(misbehaving_batcher* s) : server(s) {}
    dyn::batcher& get_batcher() const override { return *server; }
};

// A generator batcher: answers each operation by yielding a get for it.
struct via_get_batcher final : dyn::batcher {
    bool yields() const noexcept override { return true; }
    std::vector<std::any> batch(std::span<dyn::operation const* const>) override { return {}; }
    dyn::gen<std::vector<std::any>> batch_gen(std::span<dyn::operation const* const> ops) override;
};

struct via_get final : dyn::operation_of<int> {
    int key;
    via_get_batcher* server;
    via_get(int k, via_get_batcher* s) : key(k), server(s) {}
    dyn::batcher& get_batcher() const override { return *server; }
};

dyn::gen<std::vector<std::any>> via_get_batcher::batch_gen(std::span<dyn::operation const* const> ops) {
    std::vector<doubling_world::op> gets;
    for (auto const* op : ops) gets.push_back(doubling_world::a(static_cast<via_get const*>(op)->key));
    std::vector<int> values = co_yield std::move(gets);
    std::vector<std::any> out(values.begin(), values.end());
    co_return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(equal_batchers_share_a_call_and_different_ones_do_not) {
    auto calls = std::make_shared<std::vector<std::size_t>>();
    dyn::executor ex;
    std::vector<shard_get> ops;
    for (int i = 0; i < 6; ++i) ops.emplace_back(i % 3, i, calls);
    auto out = ex.run(std::move(ops));
    BOOST_TEST((out == std::vector<int>{0, 101, 202, 3, 104, 205}));
    BOOST_TEST((*calls == std::vector<std::size_t>{2, 2, 2}));
    BOOST_TEST(ex.stats().batches == 3u);
    BOOST_TEST(ex.stats().rounds == 1u);
}

BOOST_AUTO_TEST_CASE(a_generator_batcher_yields_operations_that_batch_with_the_rest) {
    via_get_batcher via;
    doubling_world w;
    auto& ex = w.ex;
    std::vector<via_get> ops{{1, &via}, {2, &via}};
    auto [viaed, direct] = ex.run(hana::make_tuple(std::move(ops), doubling_world::a(10)));
    BOOST_TEST((viaed == std::vector<int>{2, 4}));
    BOOST_TEST(direct == 20);
    BOOST_TEST(ex.stats().rounds == 2u);
    BOOST_TEST(ex.stats().batches == 3u);
}

BOOST_AUTO_TEST_CASE(wrong_types_counts_and_single_failures_are_reported) {
    misbehaving_batcher bad;
    doubling_world w;
    auto& ex = w.ex;
    bad.mode = 0;
    BOOST_CHECK_THROW(ex.run(misbehaving_get(&bad)), batch::batcher_error);
    bad.mode = 1;
    std::vector<misbehaving_get> two{misbehaving_get(&bad), misbehaving_get(&bad)};
    BOOST_CHECK_EXCEPTION(ex.run(std::move(two)), boom,
                          [](boom const& e) { return e.what() == std::string("first only"); });
    bad.mode = 2;
    try {
        ex.run(misbehaving_get(&bad));
        BOOST_FAIL("expected a batcher_error");
    } catch (batch::batcher_error const& e) {
        BOOST_TEST(std::string(e.what()).find("returned 2 results for 1 operations") != std::string::npos, e.what());
    }
    bad.mode = 1;
    BOOST_TEST(ex.run(doubling_world::a(4)) == 8);
}
