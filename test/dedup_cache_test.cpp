#define BOOST_TEST_MODULE dedup_cache
// Deduplication, the per-executor cache and batch size limits.
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <functional>
#include <span>
#include <vector>

using namespace test;

namespace {

struct lookup {
    int key;
    using result_type = int;
    static constexpr bool deduplicate = true;
    bool operator==(lookup const&) const = default;
};

struct remembered {
    int key;
    using result_type = int;
    static constexpr bool cacheable = true;
    bool operator==(remembered const&) const = default;
};

} // namespace

template <>
struct std::hash<lookup> : test::hash_by<&lookup::key> {};
template <>
struct std::hash<remembered> : test::hash_by<&remembered::key> {};

namespace {

using dedup_ops = batch::operations<lookup, remembered, get>;
template <class T>
using dgen = batch::gen<T, dedup_ops>;

/// Answers key * 10, failing negative keys alone; records each call's keys.
template <class Op>
struct recording {
    std::shared_ptr<std::vector<std::vector<int>>> calls = std::make_shared<std::vector<std::vector<int>>>();
    std::vector<batch::outcome<int>> operator()(std::span<Op const> in) const {
        calls->emplace_back();
        std::vector<batch::outcome<int>> out;
        for (auto const& op : in) {
            calls->back().push_back(op.key);
            if (op.key < 0) {
                out.emplace_back(std::make_exception_ptr(boom("negative")));
            } else {
                out.emplace_back(op.key * 10);
            }
        }
        return out;
    }
};

/// A batcher that takes at most 100 operations per call.
struct limited_get_batcher {
    static constexpr std::size_t max_batch_size = 100;
    std::shared_ptr<std::vector<std::size_t>> sizes = std::make_shared<std::vector<std::size_t>>();
    std::vector<int> operator()(std::span<get const> in) const {
        sizes->push_back(in.size());
        std::vector<int> out;
        for (auto const& op : in) out.push_back(op.key * 2);
        return out;
    }
};

struct world {
    recording<lookup> lookups;
    recording<remembered> remembers;
    limited_get_batcher gets;
    batch::executor<dedup_ops, recording<lookup>, recording<remembered>, limited_get_batcher> ex =
        batch::make_executor<dedup_ops>(lookups, remembers, gets);
};

dgen<int> asks(int key) {
    int v = co_yield lookup{key};
    co_return v;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_thousand_identical_operations_reach_the_batcher_once) {
    world w;
    std::vector<lookup> same(1000, lookup{7});
    auto out = w.ex.run(std::move(same));
    BOOST_TEST(out.size() == 1000u);
    BOOST_TEST(std::count(out.begin(), out.end(), 70) == 1000);
    BOOST_REQUIRE(w.lookups.calls->size() == 1u);
    BOOST_TEST((w.lookups.calls->at(0) == std::vector<int>{7}));
    BOOST_TEST(w.ex.stats().operations == 1u);
    BOOST_TEST(w.ex.stats().deduplicated == 999u);
    BOOST_TEST(w.ex.stats_of<lookup>().deduplicated == 999u);
}

BOOST_AUTO_TEST_CASE(identical_operations_from_different_generators_merge_and_all_get_the_answer) {
    world w;
    std::vector<dgen<int>> gens;
    for (int i = 0; i < 6; ++i) gens.push_back(asks(i % 3));
    auto out = w.ex.run(std::move(gens));
    BOOST_TEST((out == std::vector<int>{0, 10, 20, 0, 10, 20}));
    BOOST_REQUIRE(w.lookups.calls->size() == 1u);
    BOOST_TEST((w.lookups.calls->at(0) == std::vector<int>{0, 1, 2}));
    BOOST_TEST(w.ex.stats().deduplicated == 3u);
}

BOOST_AUTO_TEST_CASE(a_failure_reaches_every_asker_of_the_merged_operation) {
    world w;
    std::vector<lookup> in{{-1}, {5}, {-1}};
    BOOST_CHECK_THROW(w.ex.run(std::move(in)), boom);
    BOOST_TEST((w.lookups.calls->at(0) == std::vector<int>{-1, 5}));
    std::vector<dgen<int>> gens;
    gens.push_back(asks(-1));
    gens.push_back(asks(-1));
    BOOST_CHECK_THROW(w.ex.run(std::move(gens)), boom);
    BOOST_TEST(w.ex.stats().deduplicated == 1u);
}

BOOST_AUTO_TEST_CASE(cacheable_results_are_remembered_across_runs_until_cleared) {
    world w;
    std::vector<remembered> first{{1}, {2}, {1}};
    BOOST_TEST((w.ex.run(std::move(first)) == std::vector<int>{10, 20, 10}));
    BOOST_TEST(w.ex.stats().deduplicated == 1u); // cacheable implies deduplicate
    BOOST_TEST(w.ex.stats().cache_hits == 0u);

    // Answered from the cache: no batcher call, no round.
    BOOST_TEST(w.ex.run(remembered{1}) == 10);
    BOOST_TEST(w.ex.stats().rounds == 0u);
    BOOST_TEST(w.ex.stats().batches == 0u);
    BOOST_TEST(w.ex.stats().cache_hits == 1u);
    BOOST_TEST(w.ex.stats_of<remembered>().cache_hits == 1u);

    // A mix: hits answered at once, misses batched.
    std::vector<remembered> mixed{{2}, {3}, {1}};
    BOOST_TEST((w.ex.run(std::move(mixed)) == std::vector<int>{20, 30, 10}));
    BOOST_TEST(w.ex.stats().cache_hits == 2u);
    BOOST_TEST((w.remembers.calls->back() == std::vector<int>{3}));

    w.ex.clear_cache();
    BOOST_TEST(w.ex.run(remembered{1}) == 10);
    BOOST_TEST(w.ex.stats().batches == 1u);
    BOOST_TEST(w.remembers.calls->size() == 3u);
}

BOOST_AUTO_TEST_CASE(failures_are_not_cached) {
    world w;
    BOOST_CHECK_THROW(w.ex.run(remembered{-4}), boom);
    BOOST_CHECK_THROW(w.ex.run(remembered{-4}), boom);
    BOOST_TEST(w.remembers.calls->size() == 2u);
    BOOST_TEST(w.ex.stats().cache_hits == 0u);
}

BOOST_AUTO_TEST_CASE(max_batch_size_splits_a_bucket_within_one_round) {
    world w;
    std::vector<get> many;
    for (int i = 0; i < 250; ++i) many.push_back(get{i});
    auto out = w.ex.run(std::move(many));
    BOOST_REQUIRE(out.size() == 250u);
    BOOST_TEST(out[249] == 498);
    BOOST_TEST((*w.gets.sizes == std::vector<std::size_t>{100, 100, 50}));
    BOOST_TEST(w.ex.stats().rounds == 1u);
    BOOST_TEST(w.ex.stats().batches == 3u);
    BOOST_TEST(w.ex.stats().largest_batch == 100u);
}
