#define BOOST_TEST_MODULE operation
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <exception>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace third_party {
/// A type the user cannot edit: adapted through batch::operation_traits.
struct lookup {
    std::string name;
};
} // namespace third_party

template <>
struct batch::operation_traits<third_party::lookup> {
    using result_type = std::size_t;
};

namespace {

struct no_result {
    int x;
};
struct sharded {
    int shard;
    int key;
    using result_type = int;
    int batch_key() const { return shard; }
};

using adapted_ops = batch::operations<third_party::lookup>;

batch::gen<std::size_t, adapted_ops> length_of(std::string s) {
    // An lvalue operation is copied into its batch.
    third_party::lookup const op{std::move(s)};
    std::size_t n = co_yield op;
    co_return n;
}

} // namespace

// Negative checks that need no message are plain static_asserts on the concepts.
static_assert(batch::operation<test::get>);
static_assert(batch::operation<test::put>);
static_assert(batch::operation<third_party::lookup>);
static_assert(!batch::operation<no_result>);
static_assert(!batch::operation<int>);
static_assert(!batch::operation<test::get&>);
static_assert(std::is_same_v<batch::result_of_t<third_party::lookup>, std::size_t>);
static_assert(std::is_same_v<batch::stored_t<void>, batch::unit>);
static_assert(batch::keyed_operation<sharded>);
static_assert(!batch::keyed_operation<test::get>);
static_assert(test::ops::contains<test::put> && !test::ops::contains<sharded>);
static_assert(test::ops::index_of<test::identity> == 1);

BOOST_AUTO_TEST_CASE(operation_traits_adapt_a_foreign_type) {
    auto ex = batch::make_executor<adapted_ops>([](std::span<third_party::lookup const> in) {
        std::vector<std::size_t> out;
        for (auto const& op : in) out.push_back(op.name.size());
        return out;
    });
    BOOST_TEST(ex.run(length_of("hello")) == 5u);
}
