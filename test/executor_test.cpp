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

struct may_fail {
    int key;
    using result_type = std::string;
};
struct log_line {
    std::string text;
    using result_type = void;
};
using outcome_ops = batch::operations<may_fail, log_line>;

batch::gen<std::string, outcome_ops> fetch_or_default(int key) {
    try {
        std::string s = co_yield may_fail{key};
        co_return s;
    } catch (boom const& e) {
        co_return std::string("default:") + e.what();
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(outcome_batchers_fail_single_operations_and_void_batchers_work) {
    std::vector<std::string> lines;
    auto ex = batch::make_executor<outcome_ops>(
        [](std::span<may_fail const> in) {
            std::vector<batch::outcome<std::string>> out;
            for (auto const& op : in) {
                if (op.key % 2) {
                    out.emplace_back(std::make_exception_ptr(boom(std::to_string(op.key))));
                } else {
                    out.emplace_back(std::to_string(op.key));
                }
            }
            return out;
        },
        [&lines](std::span<log_line const> in) {
            for (auto const& l : in) lines.push_back(l.text);
        });
    std::vector<batch::gen<std::string, outcome_ops>> gens;
    for (int i = 0; i < 4; ++i) gens.push_back(fetch_or_default(i));
    auto out = ex.run(std::move(gens));
    BOOST_TEST((out == std::vector<std::string>{"0", "default:1", "2", "default:3"}));
    BOOST_TEST(ex.stats().batches == 1u);

    BOOST_CHECK_THROW(ex.run(may_fail{1}), boom);
    std::vector<log_line> writes{{"a"}, {"b"}};
    auto done = ex.run(std::move(writes));
    BOOST_TEST(done.size() == 2u);
    BOOST_TEST((lines == std::vector<std::string>{"a", "b"}));
}

BOOST_AUTO_TEST_CASE(void_operations_may_be_served_with_a_vector_of_units) {
    auto ex = batch::make_executor<ops>(get_batcher{}, identity_batcher{},
                                        [](std::span<put const> in) { return std::vector<batch::unit>(in.size()); });
    ex.run(put{1, 1});
    BOOST_TEST(ex.stats().batches == 1u);
}

BOOST_AUTO_TEST_CASE(a_wrong_result_count_is_a_batcher_error_naming_type_and_counts) {
    auto ex = batch::make_executor<ops>([](std::span<get const> in) { return std::vector<int>(in.size() + 1); },
                                        identity_batcher{}, put_batcher{});
    std::vector<get> in{{1}, {2}};
    try {
        ex.run(std::move(in));
        BOOST_FAIL("expected a batcher_error");
    } catch (batch::batcher_error const& e) {
        std::string const what = e.what();
        BOOST_TEST(what.find("test::get") != std::string::npos, what);
        BOOST_TEST(what.find("returned 3 results for 2 operations") != std::string::npos, what);
    }
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

BOOST_AUTO_TEST_CASE(a_generic_batcher_may_serve_every_operation) {
    using two = batch::operations<get, identity>;
    auto ex = batch::make_executor<two>([](auto in) {
        std::vector<int> out;
        for (auto const& op : in) {
            if constexpr (std::is_same_v<std::decay_t<decltype(op)>, get>) {
                out.push_back(op.key * 2);
            } else {
                out.push_back(op.value);
            }
        }
        return out;
    });
    auto [a, b] = ex.run(hana::make_tuple(get{3}, identity{3}));
    BOOST_TEST(a == 6);
    BOOST_TEST(b == 3);
    BOOST_TEST(ex.stats().batches == 2u);
}

namespace {

// Answers through a buffer it reuses, so that a steady-state round allocates nothing.
struct reusing_get_batcher {
    std::vector<int> buffer;
    std::span<int const> operator()(std::span<get const> in) {
        buffer.clear();
        for (auto const& op : in) buffer.push_back(op.key * 2);
        return buffer;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(a_batcher_may_return_a_span_over_its_own_buffer) {
    auto ex = batch::make_executor<ops>(reusing_get_batcher{}, identity_batcher{}, put_batcher{});
    std::vector<get> in{{1}, {2}, {3}};
    BOOST_TEST((ex.run(std::move(in)) == std::vector<int>{2, 4, 6}));
    BOOST_TEST(ex.run(get{21}) == 42);
    BOOST_TEST(ex.batcher_of<get>().buffer.size() == 1u);
}

namespace {

// max_batch_size written on the operation type, where many users look for it first.
struct limited_get {
    int key;
    using result_type = int;
    static constexpr std::size_t max_batch_size = 3;
};

struct sizes_batcher {
    std::shared_ptr<std::vector<std::size_t>> sizes = std::make_shared<std::vector<std::size_t>>();
    std::vector<int> operator()(std::span<limited_get const> in) const {
        sizes->push_back(in.size());
        std::vector<int> out;
        for (auto const& op : in) out.push_back(op.key);
        return out;
    }
};

// The batcher's own limit: the smaller of the two wins.
struct tighter_batcher : sizes_batcher {
    static constexpr std::size_t max_batch_size = 2;
};

std::vector<limited_get> limited(int n) {
    std::vector<limited_get> ops;
    for (int i = 0; i < n; ++i) ops.push_back({i});
    return ops;
}

} // namespace

BOOST_AUTO_TEST_CASE(max_batch_size_on_the_operation_type_splits_calls) {
    sizes_batcher batcher;
    auto ex = batch::make_executor<batch::operations<limited_get>>(batcher);
    auto const out = ex.run(limited(8));
    BOOST_TEST(out.size() == 8u);
    BOOST_TEST(out[7] == 7);
    BOOST_TEST((*batcher.sizes == std::vector<std::size_t>{3, 3, 2}));
    BOOST_TEST(ex.stats().rounds == 1u);
}

BOOST_AUTO_TEST_CASE(the_smaller_of_the_operation_and_batcher_limits_applies) {
    tighter_batcher batcher;
    auto ex = batch::make_executor<batch::operations<limited_get>>(batcher);
    ex.run(limited(5));
    BOOST_TEST((*batcher.sizes == std::vector<std::size_t>{2, 2, 1}));
}
