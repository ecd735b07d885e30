#define BOOST_TEST_MODULE settle
// batch::settle: every part of a yield completes and each leaf gives its outcome, in the typed
// executor (plain and asynchronous batchers) and the dynamic baseline.
#include "support.hpp"
#include "worlds.hpp"

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <exception>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

using namespace test;

namespace {

/// `a(k)` gives 2k and `b(k)` gives k, except: a key ending in 4 or 9 fails alone, key 77 fails
/// its whole call, and a call with key 55 returns one result too many.
struct settling {
    using value_type = int;
    std::vector<batch::outcome<int>> answer(int type, std::span<int const> keys, std::size_t) const {
        std::vector<batch::outcome<int>> out;
        bool miscount = false;
        for (int k : keys) {
            if (k == 77) throw boom("call 77");
            miscount = miscount || k == 55;
            if (k % 5 == 4) {
                out.emplace_back(std::make_exception_ptr(boom("key " + std::to_string(k))));
            } else {
                out.emplace_back(type == 0 ? 2 * k : k);
            }
        }
        if (miscount) out.emplace_back(0);
        return out;
    }
};

std::string what(std::exception_ptr const& e) {
    try {
        std::rethrow_exception(e);
    } catch (std::exception const& x) {
        return x.what();
    }
    return "?";
}

template <class R>
std::string describe(batch::outcome<R> const& o) {
    if (o.has_value()) {
        if constexpr (std::is_void_v<R>) {
            return "ok";
        } else {
            return std::to_string(o.value());
        }
    }
    return "failed: " + what(o.error());
}

template <class W>
typename W::template gen<int> child(int k, bool fail) {
    int const v = co_yield W::a(k);
    if (fail) throw boom("child " + std::to_string(k));
    co_return v;
}

} // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(a_settled_vector_gives_every_outcome_and_throws_nothing, W, all_worlds<settling>) {
    W w;
    auto program = []() -> typename W::template gen<std::vector<std::string>> {
        std::vector<typename W::a_op> ops;
        for (int k : {1, 4, 2, 9}) ops.push_back(W::a(k));
        auto const got = co_yield batch::settle(std::move(ops));
        static_assert(std::is_same_v<std::remove_const_t<decltype(got)>, std::vector<batch::outcome<int>>>);
        std::vector<std::string> out;
        for (auto const& o : got) out.push_back(describe(o));
        co_return out;
    };
    auto const got = w.ex.run(program());
    BOOST_TEST(got == (std::vector<std::string>{"2", "failed: key 4", "4", "failed: key 9"}));
    BOOST_TEST(w.ex.stats().rounds == 1u);
    BOOST_TEST(w.calls(0) == 1u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_settled_tuple_waits_for_all_its_parts, W, all_worlds<settling>) {
    W w;
    auto program = []() -> typename W::template gen<std::vector<std::string>> {
        std::vector<typename W::b_op> bs;
        bs.push_back(W::b(77)); // the whole call of b fails; the children's operations are a
        bs.push_back(W::b(3));
        std::map<std::string, typename W::template gen<int>> kids;
        kids.emplace("ok", child<W>(6, false));
        kids.emplace("throws", child<W>(8, true));
        auto [a, b, k, failing_child] =
            co_yield batch::settle(hana::make_tuple(W::a(14), std::move(bs), std::move(kids), child<W>(1, true)));
        std::vector<std::string> out{describe(a)};
        for (auto const& o : b) out.push_back(describe(o));
        for (auto const& [name, o] : k) out.push_back(name + " " + describe(o));
        out.push_back(describe(failing_child));
        co_return out;
    };
    auto const got = w.ex.run(program());
    BOOST_TEST(got
               == (std::vector<std::string>{"failed: key 14", "failed: call 77", "failed: call 77", "ok 12",
                                            "throws failed: child 8", "failed: child 1"}));
    BOOST_TEST(w.ex.stats().rounds == 1u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_broken_batcher_is_an_outcome_and_a_misuse_is_thrown, W, all_worlds<settling>) {
    W w;
    // A batcher that returns too many results breaks its contract: each of its operations fails
    // with batch::batcher_error, which settle gives as outcomes.
    auto miscounted = []() -> typename W::template gen<std::vector<bool>> {
        auto const got = co_yield batch::settle(hana::make_tuple(W::a(55), W::a(1)));
        auto const& [x, y] = got;
        bool x_broken = false, y_broken = false;
        try {
            std::rethrow_exception(x.error());
        } catch (batch::batcher_error const&) {
            x_broken = true;
        }
        try {
            std::rethrow_exception(y.error());
        } catch (batch::batcher_error const&) {
            y_broken = true;
        }
        co_return std::vector<bool>{x_broken, y_broken};
    };
    BOOST_TEST(w.ex.run(miscounted()) == (std::vector<bool>{true, true}));

    // A generator that yields a finished generator again misuses the library: settle throws.
    auto misuse = []() -> typename W::template gen<int> {
        auto kid = child<W>(2, false);
        int const first = co_yield kid;
        int const again = co_yield kid;
        co_return first + again;
    };
    auto program = [&]() -> typename W::template gen<int> {
        auto got = co_yield batch::settle(misuse());
        co_return got.has_value() ? 1 : 0;
    };
    BOOST_CHECK_THROW(w.ex.run(program()), batch::usage_error);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(settle_runs_at_the_root_uses_lvalues_in_place_and_nests, W, all_worlds<settling>) {
    W w;
    auto got = w.ex.run(batch::settle(std::vector<typename W::a_op>{W::a(3), W::a(4)}));
    BOOST_TEST(describe(got[0]) == "6");
    BOOST_TEST(describe(got[1]) == "failed: key 4");

    auto program = []() -> typename W::template gen<std::string> {
        auto kid = child<W>(5, false);
        auto const once = co_yield batch::settle(kid); // an lvalue: driven in place
        static_assert(std::is_same_v<std::remove_const_t<decltype(once)>, batch::outcome<int>>);
        auto const twice = co_yield batch::settle(batch::settle(W::a(6)));
        static_assert(std::is_same_v<std::remove_const_t<decltype(twice)>, batch::outcome<int>>);
        co_return describe(once) + " " + describe(twice);
    };
    BOOST_TEST(w.ex.run(program()) == "10 12");
}

BOOST_AUTO_TEST_CASE(void_results_settle_to_outcome_of_void) {
    struct writes {
        void operator()(std::span<put const> in) const {
            for (auto const& p : in) {
                if (p.value < 0) throw boom("negative write");
            }
        }
    };
    auto ex = batch::make_executor<ops>(get_batcher{}, identity_batcher{}, writes{});
    auto program = []() -> gen<std::string> {
        std::vector<put> puts{{1, 1}, {2, -1}}; // named first: GCC 12 (see README)
        auto const [w, g] = co_yield batch::settle(hana::make_tuple(std::move(puts), get{4}));
        std::string out;
        for (auto const& o : w) out += describe(o) + " ";
        co_return out + describe(g);
    };
    BOOST_TEST(ex.run(program()) == "failed: negative write failed: negative write 8");
}
