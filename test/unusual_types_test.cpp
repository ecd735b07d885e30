#define BOOST_TEST_MODULE unusual_types
// Results and operations of unusual types: move-only, not default-constructible, large,
// over-aligned, with a throwing move; exceptions not derived from std::exception.
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

using namespace test;

namespace {

struct no_default {
    explicit no_default(int v) : value(v) {}
    int value;
};

struct alignas(64) aligned {
    int value = 0;
};

struct large {
    std::array<char, 4096> bytes{};
};

struct throwing_move {
    int value = 0;
    explicit throwing_move(int v) : value(v) {}
    throwing_move(throwing_move const&) = default;
    throwing_move(throwing_move&& other) noexcept(false) : value(other.value) {
        if (value == 13) throw std::runtime_error("unlucky move");
    }
    throwing_move& operator=(throwing_move const&) = default;
};

struct make_owned {
    int key;
    using result_type = std::unique_ptr<int>;
};
struct make_no_default {
    int key;
    using result_type = no_default;
};
struct make_aligned {
    int key;
    using result_type = aligned;
};
struct make_large {
    int key;
    using result_type = large;
};
struct make_throwing {
    int key;
    using result_type = throwing_move;
};
/// A move-only operation.
struct owned_op {
    explicit owned_op(int k) : key(std::make_unique<int>(k)) {}
    std::unique_ptr<int> key;
    using result_type = int;
};

/// An operation with a const member: it can be moved into a bucket, though not assigned.
struct fixed_op {
    int const key;
    using result_type = int;
};

using odd_ops =
    batch::operations<make_owned, make_no_default, make_aligned, make_large, make_throwing, owned_op, fixed_op>;
template <class T>
using ogen = batch::gen<T, odd_ops>;

template <class Op, class Make>
auto serve(Make make) {
    return [make](std::span<Op const> in) {
        std::vector<batch::result_of_t<Op>> out;
        out.reserve(in.size());
        for (auto const& op : in) out.push_back(make(op));
        return out;
    };
}

auto make_odd_executor() {
    return batch::make_executor<odd_ops>(
        serve<make_owned>([](make_owned const& op) { return std::make_unique<int>(op.key); }),
        serve<make_no_default>([](make_no_default const& op) { return no_default(op.key); }),
        serve<make_aligned>([](make_aligned const& op) { return aligned{op.key}; }),
        serve<make_large>([](make_large const& op) {
            large l;
            l.bytes.fill(static_cast<char>(op.key));
            return l;
        }),
        serve<make_throwing>([](make_throwing const& op) { return throwing_move(op.key); }),
        [](std::span<owned_op const> in) {
            std::vector<int> out;
            for (auto const& op : in) out.push_back(*op.key * 2);
            return out;
        },
        serve<fixed_op>([](fixed_op const& op) { return op.key * 3; }));
}

ogen<std::unique_ptr<int>> owned(int k) {
    std::unique_ptr<int> p = co_yield make_owned{k};
    co_return p;
}

ogen<int> sum_owned(int n) {
    std::vector<ogen<std::unique_ptr<int>>> gens;
    for (int i = 0; i < n; ++i) gens.push_back(owned(i));
    auto [ptrs, direct] = co_yield hana::make_tuple(std::move(gens), make_owned{100});
    int sum = *direct;
    for (auto const& p : ptrs) sum += *p;
    co_return sum;
}

ogen<no_default> passes_no_default(int k) {
    no_default v = co_yield make_no_default{k};
    co_return v;
}

ogen<std::uintptr_t> aligned_local(int k) {
    aligned local = co_yield make_aligned{k};
    aligned again = co_yield make_aligned{k + 1};
    co_return reinterpret_cast<std::uintptr_t>(&local) % 64 + reinterpret_cast<std::uintptr_t>(&again) % 64
        + static_cast<std::uintptr_t>(local.value + again.value);
}

ogen<int> large_local(int k) {
    large l = co_yield make_large{k};
    large copy = l;
    int total = 0;
    for (char c : copy.bytes) total += c;
    co_return total;
}

ogen<int> throwing_result(int k) {
    throwing_move t = co_yield make_throwing{k};
    co_return t.value;
}

ogen<int> owned_operation(int k) {
    int v = co_yield owned_op(k);
    co_return v;
}

ogen<int> fixed_operations(int k) {
    std::vector<fixed_op> ops;
    ops.push_back(fixed_op{k});
    ops.push_back(fixed_op{k + 1});
    auto [one, many] = co_yield hana::make_tuple(fixed_op{k}, std::move(ops));
    co_return one + many[0] + many[1];
}

ogen<int> throws_an_int() {
    co_yield make_owned{1};
    throw 42;
}

} // namespace

BOOST_AUTO_TEST_CASE(move_only_results_in_generators_vectors_and_tuples) {
    auto ex = make_odd_executor();
    BOOST_TEST(ex.run(sum_owned(10)) == 45 + 100);
    auto p = ex.run(owned(7));
    BOOST_TEST(*p == 7);
}

BOOST_AUTO_TEST_CASE(results_without_a_default_constructor) {
    auto ex = make_odd_executor();
    BOOST_TEST(ex.run(passes_no_default(5)).value == 5);
    std::vector<make_no_default> ops{{1}, {2}};
    auto out = ex.run(std::move(ops));
    BOOST_TEST(out.at(1).value == 2);
}

BOOST_AUTO_TEST_CASE(over_aligned_results_and_frames) {
    auto ex = make_odd_executor();
    BOOST_TEST(ex.run(aligned_local(3)) == 7u); // both locals 64-byte aligned: offsets 0
    std::vector<ogen<std::uintptr_t>> many;
    for (int i = 0; i < 100; ++i) many.push_back(aligned_local(i));
    auto out = ex.run(std::move(many));
    for (int i = 0; i < 100; ++i)
        BOOST_TEST(out[static_cast<std::size_t>(i)] == static_cast<std::uintptr_t>(2 * i + 1));
}

BOOST_AUTO_TEST_CASE(large_results_and_frames) {
    auto ex = make_odd_executor();
    BOOST_TEST(ex.run(large_local(2)) == 2 * 4096);
    std::vector<ogen<int>> many;
    for (int i = 0; i < 50; ++i) many.push_back(large_local(1));
    auto out = ex.run(std::move(many));
    BOOST_TEST(out.size() == 50u);
    BOOST_TEST(out[49] == 4096);
}

BOOST_AUTO_TEST_CASE(a_result_whose_move_throws_fails_only_its_operation) {
    auto ex = make_odd_executor();
    BOOST_TEST(ex.run(throwing_result(4)) == 4);
    std::vector<ogen<int>> both;
    both.push_back(throwing_result(13));
    both.push_back(throwing_result(5));
    BOOST_CHECK_THROW(ex.run(std::move(both)), std::runtime_error);
    BOOST_TEST(ex.run(throwing_result(6)) == 6);
}

BOOST_AUTO_TEST_CASE(move_only_operations) {
    auto ex = make_odd_executor();
    BOOST_TEST(ex.run(owned_operation(21)) == 42);
    std::vector<owned_op> ops;
    ops.emplace_back(1);
    ops.emplace_back(2);
    auto out = ex.run(std::move(ops));
    BOOST_TEST((out == std::vector<int>{2, 4}));
}

BOOST_AUTO_TEST_CASE(operations_with_const_members) {
    auto ex = make_odd_executor();
    BOOST_TEST(ex.run(fixed_operations(2)) == 6 + 6 + 9);
}

BOOST_AUTO_TEST_CASE(exceptions_not_derived_from_std_exception_pass_through) {
    auto ex = make_odd_executor();
    try {
        ex.run(throws_an_int());
        BOOST_FAIL("expected an int");
    } catch (int e) {
        BOOST_TEST(e == 42);
    }
    BOOST_TEST(*ex.run(owned(1)) == 1);
}
