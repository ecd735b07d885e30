#define BOOST_TEST_MODULE operation_options
// Every option an operation type may declare, declared instead in batch::operation_traits for
// types the user cannot edit; and the ways a type may carry its hash.
#include <batch/batch.hpp>

#include <boost/hana/tuple.hpp>
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace vendor {
/// Types from a library the user cannot edit: no result_type, no options, no hash.
struct user_id {
    int id;
    int shard;
    bool operator==(user_id const&) const = default;
};
struct flaky_id {
    int id;
    bool operator==(flaky_id const&) const = default;
};
} // namespace vendor

template <>
struct batch::operation_traits<vendor::user_id> {
    using result_type = std::string;
    using cache_policy = batch::lru_cache<2>;
    static constexpr std::size_t max_batch_size = 2;
    static int batch_key(vendor::user_id const& op) { return op.shard; }
    static std::size_t hash(vendor::user_id const& op) { return std::hash<int>{}(op.id * 31 + op.shard); }
};

template <>
struct batch::operation_traits<vendor::flaky_id> {
    using result_type = int;
    static constexpr bool cacheable = true;
    static constexpr bool cache_failures = true;
    static std::size_t hash(vendor::flaky_id const& op) { return std::hash<int>{}(op.id); }
};

namespace {

/// Hashed by a member `hash()`.
struct by_member {
    int key;
    using result_type = int;
    static constexpr bool deduplicate = true;
    bool operator==(by_member const&) const = default;
    std::size_t hash() const { return std::hash<int>{}(key); }
};

/// Hashed by a hidden friend `hash_value`, Boost's convention.
struct by_friend {
    int key;
    using result_type = int;
    static constexpr bool deduplicate = true;
    bool operator==(by_friend const&) const = default;
    friend std::size_t hash_value(by_friend const& op) { return std::hash<int>{}(op.key); }
};

/// Hashed by a std::hash specialised after the operation set and the generators over it (the
/// usual order in a user's file): found where the hash is first used.
struct late_hashed {
    int key;
    using result_type = int;
    static constexpr bool cacheable = true;
    bool operator==(late_hashed const&) const = default;
};

using ops = batch::operations<vendor::user_id, vendor::flaky_id, by_member, by_friend, late_hashed>;
template <class T>
using gen = batch::gen<T, ops>;

gen<int> twice_each(int key) {
    auto [a, b, c, d] =
        co_yield boost::hana::make_tuple(by_member{key}, by_member{key}, by_friend{key}, by_friend{key});
    co_return a + b + c + d;
}

gen<int> late(int key) {
    int const a = co_yield late_hashed{key};
    co_return a;
}

} // namespace

template <>
struct std::hash<late_hashed> {
    std::size_t operator()(late_hashed const& op) const noexcept { return std::hash<int>{}(op.key); }
};

namespace {

template <class Op>
struct counted {
    std::shared_ptr<std::vector<std::vector<Op>>> calls = std::make_shared<std::vector<std::vector<Op>>>();
    void record(std::span<Op const> in) const { calls->emplace_back(in.begin(), in.end()); }
};

struct user_batcher : counted<vendor::user_id> {
    std::vector<std::string> operator()(std::span<vendor::user_id const> in) const {
        record(in);
        std::vector<std::string> out;
        for (auto const& op : in) out.push_back("u" + std::to_string(op.id));
        return out;
    }
};
struct flaky_batcher : counted<vendor::flaky_id> {
    std::vector<batch::outcome<int>> operator()(std::span<vendor::flaky_id const> in) const {
        record(in);
        std::vector<batch::outcome<int>> out;
        for (auto const& op : in) {
            if (op.id < 0) {
                out.emplace_back(std::make_exception_ptr(std::runtime_error("negative")));
            } else {
                out.emplace_back(op.id);
            }
        }
        return out;
    }
};
template <class Op>
struct echo : counted<Op> {
    std::vector<int> operator()(std::span<Op const> in) const {
        this->record(in);
        std::vector<int> out;
        for (auto const& op : in) out.push_back(op.key);
        return out;
    }
};

auto make() {
    return batch::make_executor<ops>(user_batcher{}, flaky_batcher{}, echo<by_member>{}, echo<by_friend>{},
                                     echo<late_hashed>{});
}

} // namespace

static_assert(batch::caches_v<vendor::user_id> && batch::deduplicates_v<vendor::user_id>);
static_assert(batch::max_batch_size_v<vendor::user_id> == 2);
static_assert(batch::keyed_operation<vendor::user_id>);
static_assert(batch::caches_failures_v<vendor::flaky_id>);
static_assert(!batch::keyed_operation<vendor::flaky_id>);
static_assert(batch::deduplicable<by_member> && batch::deduplicable<by_friend>);

BOOST_AUTO_TEST_CASE(traits_carry_the_key_the_batch_size_the_policy_and_the_hash_of_a_foreign_type) {
    auto ex = make();
    using vendor::user_id;
    auto const names = ex.run(std::vector<user_id>{{1, 0}, {2, 0}, {3, 0}, {1, 0}, {4, 1}});
    BOOST_TEST((names == std::vector<std::string>{"u1", "u2", "u3", "u1", "u4"}));
    auto const& calls = *ex.batcher_of<user_id>().calls;
    // Shard 0: {1, 2, 3} after merging the second 1, in calls of at most 2; shard 1: {4}.
    BOOST_TEST_REQUIRE(calls.size() == 3u);
    BOOST_TEST(calls[0].size() == 2u);
    BOOST_TEST(calls[1].size() == 1u);
    BOOST_TEST(calls[2].size() == 1u);
    BOOST_TEST(calls[2][0].shard == 1);
    BOOST_TEST(ex.stats_of<user_id>().deduplicated == 1u);

    // The policy from the traits: an LRU cache of 2 results kept 3 and 4 (2 evictions), so 4 is
    // a hit and 1 goes to the batcher again.
    BOOST_TEST(ex.cache_of<user_id>().size() == 2u);
    ex.run(std::vector<user_id>{{4, 1}, {1, 0}});
    BOOST_TEST(ex.stats().cache_hits == 1u);
    BOOST_TEST(calls.size() == 4u);
}

BOOST_AUTO_TEST_CASE(traits_carry_cacheable_and_cache_failures) {
    auto ex = make();
    using vendor::flaky_id;
    BOOST_CHECK_THROW(ex.run(flaky_id{-1}), std::runtime_error);
    BOOST_CHECK_THROW(ex.run(flaky_id{-1}), std::runtime_error); // the failure is remembered
    BOOST_TEST(ex.run(flaky_id{5}) == 5);
    BOOST_TEST(ex.run(flaky_id{5}) == 5);
    BOOST_TEST(ex.batcher_of<flaky_id>().calls->size() == 2u);
    BOOST_TEST(ex.prime(flaky_id{6}, 60));
    BOOST_TEST(ex.run(flaky_id{6}) == 60);
}

BOOST_AUTO_TEST_CASE(a_member_hash_and_a_hidden_friend_hash_value_deduplicate) {
    auto ex = make();
    BOOST_TEST(ex.run(twice_each(7)) == 28);
    BOOST_TEST(ex.batcher_of<by_member>().calls->at(0).size() == 1u);
    BOOST_TEST(ex.batcher_of<by_friend>().calls->at(0).size() == 1u);
    BOOST_TEST(batch::operation_hash<by_member>{}(by_member{7}) == std::hash<int>{}(7));
    BOOST_TEST(batch::operation_hash<by_friend>{}(by_friend{7}) == std::hash<int>{}(7));
}

BOOST_AUTO_TEST_CASE(a_std_hash_specialised_after_the_generators_is_found) {
    auto ex = make();
    BOOST_TEST(ex.run(late(3)) == 3);
    BOOST_TEST(ex.run(late(3)) == 3);
    BOOST_TEST(ex.stats().cache_hits == 1u);
    BOOST_TEST(ex.batcher_of<late_hashed>().calls->size() == 1u);
}
