#define BOOST_TEST_MODULE batcher
// What a batcher may return (values, outcomes, nothing, units, a span over its own buffer),
// what happens when it breaks its contract, and how max_batch_size splits its calls.
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

using namespace test;

static_assert(batch::batcher_for<get_batcher, get>);
static_assert(!batch::batcher_for<get_batcher, identity>);

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

namespace {

/// A result whose move throws for a negative value (the result is moved out of the batcher's
/// answer into the generator's slot).
struct touchy {
    int v = 0;
    explicit touchy(int x) : v(x) {}
    touchy(touchy const&) = default;
    touchy(touchy&& o) : v(o.v) {
        if (v < 0) throw boom("moved");
    }
    touchy& operator=(touchy const&) = default;
};
struct fetch_touchy {
    int key;
    using result_type = touchy;
};
using single_ops = batch::operations<get, fetch_touchy>;

/// Yields `get{key}` until it succeeds, noting each failure.
batch::gen<std::string, single_ops> retry_get(int key) {
    std::string seen;
    for (;;) {
        try {
            int const r = co_yield get{key};
            co_return seen + std::to_string(r);
        } catch (batch::batcher_error const& e) {
            seen += std::string(e.what()).find("returned 2 results for 1 operations") != std::string::npos ? "count,"
                                                                                                           : "other,";
        } catch (boom const& e) {
            seen += std::string(e.what()) + ",";
        }
    }
}

batch::gen<std::string, single_ops> touchy_then_get(int key) {
    std::string seen;
    try {
        touchy t = co_yield fetch_touchy{-key};
        seen += std::to_string(t.v) + ",";
    } catch (boom const& e) {
        seen += std::string(e.what()) + ",";
    }
    touchy const t = co_yield fetch_touchy{key};
    int const r = co_yield get{key};
    co_return seen + std::to_string(t.v) + "," + std::to_string(r);
}

/// The value of `fetch_touchy{key}`, or the message of what its delivery threw.
batch::gen<std::string, single_ops> touchy_or_error(int key) {
    try {
        touchy const t = co_yield fetch_touchy{key};
        co_return std::to_string(t.v);
    } catch (boom const& e) {
        co_return std::string(e.what());
    }
}

} // namespace

// A round with one operation of a type is called from its bucket (no swap, no loop): each way
// such a call can fail reaches the generator alone, and the bucket is empty for its next yield.
BOOST_AUTO_TEST_CASE(a_round_of_one_operation_fails_it_alone_and_the_next_round_goes_on) {
    int calls = 0;
    auto ex = batch::make_executor<single_ops>(
        [&calls](std::span<get const> in) {
            ++calls;
            if (calls == 1) return std::vector<int>(in.size() + 1); // one result too many
            if (calls == 2) throw boom("thrown");                   // the batcher fails
            std::vector<int> out;
            for (auto const& op : in) out.push_back(op.key * 2);
            return out;
        },
        [](std::span<fetch_touchy const> in) {
            std::vector<touchy> out;
            for (auto const& op : in) out.emplace_back(op.key);
            return out;
        });
    BOOST_TEST(ex.run(retry_get(3)) == "count,thrown,6");
    BOOST_TEST(ex.stats().batches == 3u);
    BOOST_TEST(ex.stats().rounds == 3u);

    BOOST_TEST(ex.run(touchy_then_get(4)) == "moved,4,8");
    BOOST_TEST(ex.stats().batches == 3u);
    BOOST_TEST(ex.stats().operations == 3u);

    // One operation of each type in a round: the first type's generator waits in the queue,
    // the last type's resumes at once; both see their results.
    auto [a, b] = ex.run(hana::make_tuple(retry_get(5), touchy_then_get(6)));
    BOOST_TEST(a == "10");
    BOOST_TEST(b == "moved,6,12");
}

// In a call of several operations, a result whose move throws fails its own operation only:
// the others get their results, and no generator is told twice.
BOOST_AUTO_TEST_CASE(a_result_whose_move_throws_fails_its_operation_alone_in_a_call_of_several) {
    auto ex = batch::make_executor<single_ops>(get_batcher{}, [](std::span<fetch_touchy const> in) {
        std::vector<touchy> out;
        out.reserve(in.size());
        for (auto const& op : in) out.emplace_back(op.key);
        return out;
    });
    auto [a, b, c] = ex.run(hana::make_tuple(touchy_then_get(1), touchy_then_get(2), touchy_then_get(3)));
    BOOST_TEST(a == "moved,1,2");
    BOOST_TEST(b == "moved,2,4");
    BOOST_TEST(c == "moved,3,6");
    BOOST_TEST(ex.stats().batches == 3u); // each round one call of three operations

    auto [d, e, f] = ex.run(hana::make_tuple(touchy_or_error(4), touchy_or_error(-5), touchy_or_error(6)));
    BOOST_TEST(d == "4");
    BOOST_TEST(e == "moved");
    BOOST_TEST(f == "6");
}
