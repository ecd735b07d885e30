#define BOOST_TEST_MODULE cache_control
// Cache control: prime, prime_error and forget, between runs and during one; the cache policies
// (unbounded, least recently used, expiring, a user's own); remembered failures.
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

using namespace test;

namespace {

struct name_of {
    int id;
    using result_type = std::string;
    static constexpr bool cacheable = true;
    bool operator==(name_of const&) const = default;
};

struct recent {
    int id;
    using result_type = int;
    using cache_policy = batch::lru_cache<3>;
    bool operator==(recent const&) const = default;
};

/// A steady clock the test moves by hand.
struct test_clock {
    using duration = std::chrono::milliseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<test_clock>;
    static constexpr bool is_steady = true;
    static inline time_point current{};
    static time_point now() noexcept { return current; }
    static void advance(duration d) noexcept { current += d; }
};

struct fresh {
    int id;
    using result_type = int;
    using cache_policy = batch::expiring_cache<std::chrono::seconds, 30, 0, test_clock>;
    bool operator==(fresh const&) const = default;
};

struct fresh_and_few {
    int id;
    using result_type = int;
    using cache_policy = batch::expiring_cache<std::chrono::hours, 1, 2>;
    bool operator==(fresh_and_few const&) const = default;
};

/// A user's cache: a std::map that counts what it is asked.
template <class Op, class Entry>
struct counting_map {
    std::map<int, Entry> entries;
    std::size_t finds = 0, stores = 0;

    Entry const* find(Op const& op) {
        ++finds;
        auto const it = entries.find(op.id);
        return it == entries.end() ? nullptr : &it->second;
    }
    void insert_or_assign(Op const& op, Entry e) {
        ++stores;
        entries.insert_or_assign(op.id, std::move(e));
    }
    bool erase(Op const& op) { return entries.erase(op.id) != 0; }
    void clear() { entries.clear(); }
};
struct counting_policy {
    template <class Op, class Entry>
    using cache = counting_map<Op, Entry>;
};

struct own {
    int id;
    using result_type = int;
    using cache_policy = counting_policy;
    bool operator==(own const&) const = default;
};

/// Remembers failures: a negative id fails alone; id 99 fails its whole call.
struct touchy {
    int id;
    using result_type = int;
    static constexpr bool cacheable = true;
    static constexpr bool cache_failures = true;
    bool operator==(touchy const&) const = default;
};

/// Not cached: the default forgets failures.
struct plain_touchy {
    int id;
    using result_type = int;
    static constexpr bool cacheable = true;
    bool operator==(plain_touchy const&) const = default;
};

struct mark {
    int id;
    using result_type = void;
    static constexpr bool cacheable = true;
    bool operator==(mark const&) const = default;
};

/// Looks a user up by e-mail: gives the id, and tells `on_user` the name it found with it.
struct by_email {
    explicit by_email(std::string e) : email(std::move(e)) {} // not an aggregate: GCC 12 (see README)
    std::string email;
    using result_type = int;
};

} // namespace

template <>
struct std::hash<name_of> : test::hash_by<&name_of::id> {};
template <>
struct std::hash<recent> : test::hash_by<&recent::id> {};
template <>
struct std::hash<fresh> : test::hash_by<&fresh::id> {};
template <>
struct std::hash<fresh_and_few> : test::hash_by<&fresh_and_few::id> {};
template <>
struct std::hash<own> : test::hash_by<&own::id> {};
template <>
struct std::hash<touchy> : test::hash_by<&touchy::id> {};
template <>
struct std::hash<plain_touchy> : test::hash_by<&plain_touchy::id> {};
template <>
struct std::hash<mark> : test::hash_by<&mark::id> {};

namespace {

using cops = batch::operations<name_of, recent, fresh, fresh_and_few, own, touchy, plain_touchy, mark, by_email>;
template <class T>
using cgen = batch::gen<T, cops>;

/// Answers id * 10 (as text for name_of), failing negative ids alone and id 99's whole call;
/// counts its calls.
template <class Op>
struct counting {
    std::shared_ptr<std::size_t> calls = std::make_shared<std::size_t>(0);
    auto operator()(std::span<Op const> in) const {
        ++*calls;
        using r = batch::result_of_t<Op>;
        std::vector<batch::outcome<r>> out;
        for (auto const& op : in) {
            if (op.id == 99) throw boom("the whole call failed");
            if (op.id < 0) {
                out.emplace_back(std::make_exception_ptr(boom("no such id")));
            } else if constexpr (std::is_same_v<r, std::string>) {
                out.emplace_back("user " + std::to_string(op.id));
            } else {
                out.emplace_back(op.id * 10);
            }
        }
        return out;
    }
};

struct mark_batcher {
    std::shared_ptr<std::size_t> calls = std::make_shared<std::size_t>(0);
    void operator()(std::span<mark const>) const { ++*calls; }
};

struct email_batcher {
    std::function<void(int, std::string)> on_user;
    std::vector<int> operator()(std::span<by_email const> in) const {
        std::vector<int> out;
        for (auto const& op : in) {
            int const id = static_cast<int>(op.email.size());
            if (on_user) on_user(id, "found by e-mail");
            out.push_back(id);
        }
        return out;
    }
};

auto make() {
    return batch::make_executor<cops>(counting<name_of>{}, counting<recent>{}, counting<fresh>{},
                                      counting<fresh_and_few>{}, counting<own>{}, counting<touchy>{},
                                      counting<plain_touchy>{}, mark_batcher{}, email_batcher{});
}
using cexecutor = decltype(make());

template <class Op>
std::size_t calls(cexecutor& ex) {
    return *ex.batcher_of<Op>().calls;
}

template <class E>
std::string failure_of(E&& f) {
    try {
        f();
    } catch (std::exception const& e) {
        return e.what();
    }
    return "no failure";
}

} // namespace

BOOST_AUTO_TEST_CASE(a_prime_answers_without_a_call_and_leaves_a_kept_result_unless_asked) {
    auto ex = make();
    BOOST_TEST(ex.prime(name_of{1}, "Ada"));
    BOOST_TEST(ex.run(name_of{1}) == "Ada");
    BOOST_TEST(calls<name_of>(ex) == 0u);
    BOOST_TEST(ex.stats().cache_hits == 1u);
    BOOST_TEST(ex.stats().rounds == 0u);

    BOOST_TEST(!ex.prime(name_of{1}, "Bob")); // kept already: stays
    BOOST_TEST(ex.run(name_of{1}) == "Ada");
    BOOST_TEST(ex.prime(name_of{1}, "Bob", batch::overwrite));
    BOOST_TEST(ex.run(name_of{1}) == "Bob");

    BOOST_TEST(ex.prime(mark{3}, batch::unit{})); // a void result
    ex.run(mark{3});
    BOOST_TEST(*ex.batcher_of<mark>().calls == 0u);
    BOOST_TEST(ex.stats().cache_hits == 1u);
}

BOOST_AUTO_TEST_CASE(forget_makes_the_next_request_go_to_the_batcher) {
    auto ex = make();
    BOOST_TEST(ex.run(name_of{2}) == "user 2");
    BOOST_TEST(ex.run(name_of{2}) == "user 2");
    BOOST_TEST(calls<name_of>(ex) == 1u);
    BOOST_TEST(ex.forget(name_of{2}));
    BOOST_TEST(!ex.forget(name_of{2}));
    BOOST_TEST(ex.run(name_of{2}) == "user 2");
    BOOST_TEST(calls<name_of>(ex) == 2u);
    BOOST_TEST(ex.prime(name_of{2}, "primed after a load", batch::overwrite));
    BOOST_TEST(ex.run(name_of{2}) == "primed after a load");
}

BOOST_AUTO_TEST_CASE(primes_and_forgets_work_during_a_run_from_generators_and_batchers) {
    auto ex = make();
    ex.run(name_of{6}); // cached
    // A batcher primes what it learnt: looking a user up by e-mail gives her name too.
    ex.batcher_of<by_email>().on_user = [&ex](int id, std::string name) { ex.prime(name_of{id}, std::move(name)); };
    auto program = [](cexecutor& ex) -> cgen<std::vector<std::string>> {
        std::vector<std::string> out;
        ex.prime(name_of{5}, "primed in the run");
        std::string const a = co_yield name_of{5}; // no call: primed just now
        out.push_back(a);
        int const id = co_yield by_email{"ada@example.org"};
        std::string const b = co_yield name_of{id}; // primed by the batcher
        out.push_back(b);
        std::string const c = co_yield name_of{6}; // cached by the first run
        out.push_back(c);
        ex.forget(name_of{6});
        std::string const d = co_yield name_of{6}; // forgotten: a call
        out.push_back(d);
        co_return out;
    };
    auto const got = ex.run(program(ex));
    BOOST_TEST(got == (std::vector<std::string>{"primed in the run", "found by e-mail", "user 6", "user 6"}));
    BOOST_TEST(calls<name_of>(ex) == 2u); // the first run's, and the one after forget
    BOOST_TEST(ex.stats().cache_hits == 3u);
}

BOOST_AUTO_TEST_CASE(a_result_that_arrives_replaces_a_prime_made_while_it_was_pending) {
    auto ex = make();
    auto program = [](cexecutor& ex) -> cgen<std::string> {
        // Primes name_of{7} in the same round, after name_of{7} has become pending.
        auto late = [](cexecutor& ex) -> cgen<int> {
            ex.prime(name_of{7}, "primed while pending");
            co_return 0;
        };
        auto [name, zero] = co_yield hana::make_tuple(name_of{7}, late(ex));
        static_cast<void>(zero);
        std::string const again = co_yield name_of{7};
        co_return name + " / " + again;
    };
    BOOST_TEST(ex.run(program(ex)) == "user 7 / user 7");
    BOOST_TEST(calls<name_of>(ex) == 1u);
}

BOOST_AUTO_TEST_CASE(an_lru_cache_keeps_the_most_recently_used_results) {
    auto ex = make();
    ex.run(std::vector<recent>{{1}, {2}, {3}});
    BOOST_TEST(ex.cache_of<recent>().size() == 3u);
    ex.run(recent{1}); // a hit: 1 is now the most recently used, 2 the least
    BOOST_TEST(ex.stats().cache_hits == 1u);
    ex.run(recent{4}); // a call, and 2 is evicted
    BOOST_TEST(ex.stats().cache_evictions == 1u);
    BOOST_TEST(ex.stats_of<recent>().cache_evictions == 1u);
    BOOST_TEST(ex.cache_of<recent>().size() == 3u);
    BOOST_TEST(calls<recent>(ex) == 2u);
    BOOST_TEST(ex.run(std::vector<recent>{{1}, {3}, {4}}) == (std::vector<int>{10, 30, 40}));
    BOOST_TEST(ex.stats().cache_hits == 3u);
    BOOST_TEST(calls<recent>(ex) == 2u);
    ex.run(recent{2});
    BOOST_TEST(calls<recent>(ex) == 3u);
    BOOST_TEST(ex.stats().cache_evictions == 1u);
    BOOST_TEST(ex.cache_of<recent>().evictions() == 2u); // the cache's own count, over all runs

    // The cache moves with its executor.
    auto moved = std::move(ex);
    BOOST_TEST(moved.cache_of<recent>().size() == 3u);
    moved.run(std::vector<recent>{{5}, {6}, {7}, {2}});
    BOOST_TEST(moved.stats().cache_hits == 1u);      // 2, kept
    BOOST_TEST(moved.stats().cache_evictions == 3u); // 3, 4 and 2 make room for 5, 6 and 7
    BOOST_TEST(moved.cache_of<recent>().size() == 3u);
}

BOOST_AUTO_TEST_CASE(an_expiring_cache_drops_results_after_their_time) {
    auto ex = make();
    ex.run(fresh{1}); // stored at 0, lives 30 s
    test_clock::advance(std::chrono::seconds(29) + std::chrono::milliseconds(999));
    ex.run(fresh{1});
    BOOST_TEST(ex.stats().cache_hits == 1u);
    test_clock::advance(std::chrono::milliseconds(1)); // 30 s: expired
    ex.run(fresh{1});
    BOOST_TEST(calls<fresh>(ex) == 2u);
    BOOST_TEST(ex.stats().cache_hits == 0u);
    BOOST_TEST(ex.stats().cache_expiries == 1u);
    test_clock::advance(std::chrono::seconds(29)); // stored again at 30 s, lives until 60 s
    ex.run(fresh{1});
    BOOST_TEST(ex.stats().cache_hits == 1u);
    BOOST_TEST(calls<fresh>(ex) == 2u);

    // Living an hour, at most two: the least recently used goes first.
    ex.run(std::vector<fresh_and_few>{{1}, {2}});
    ex.run(fresh_and_few{1});
    ex.run(fresh_and_few{3});
    BOOST_TEST(ex.stats().cache_evictions == 1u);
    BOOST_TEST(ex.run(std::vector<fresh_and_few>{{1}, {3}}) == (std::vector<int>{10, 30}));
    BOOST_TEST(ex.stats().cache_hits == 2u);
    BOOST_TEST(calls<fresh_and_few>(ex) == 2u);
}

BOOST_AUTO_TEST_CASE(a_users_cache_policy_is_used) {
    auto ex = make();
    ex.run(std::vector<own>{{1}, {2}, {1}});
    ex.run(own{2});
    auto const& cache = ex.cache_of<own>();
    BOOST_TEST(cache.entries.size() == 2u);
    BOOST_TEST(cache.stores == 2u);
    BOOST_TEST(cache.finds == 4u);
    BOOST_TEST(ex.stats().cache_hits == 1u);
    BOOST_TEST(calls<own>(ex) == 1u);
    BOOST_TEST(ex.forget(own{1}));
    ex.clear_cache();
    BOOST_TEST(ex.cache_of<own>().entries.empty());
}

BOOST_AUTO_TEST_CASE(a_type_that_caches_failures_fails_again_without_a_call_until_forgotten) {
    auto ex = make();
    BOOST_TEST(failure_of([&] { ex.run(touchy{-1}); }) == "no such id");
    BOOST_TEST(failure_of([&] { ex.run(touchy{-1}); }) == "no such id");
    BOOST_TEST(calls<touchy>(ex) == 1u);
    BOOST_TEST(ex.stats().cache_hits == 1u);

    // A whole call's failure too.
    BOOST_TEST(failure_of([&] { ex.run(std::vector<touchy>{{99}, {4}}); }) == "the whole call failed");
    BOOST_TEST(failure_of([&] { ex.run(touchy{4}); }) == "the whole call failed");
    BOOST_TEST(calls<touchy>(ex) == 2u);

    BOOST_TEST(ex.forget(touchy{4}));
    BOOST_TEST(ex.run(touchy{4}) == 40);
    BOOST_TEST(calls<touchy>(ex) == 3u);

    // Primed failures, and successes beside them.
    BOOST_TEST(ex.prime_error(touchy{8}, std::make_exception_ptr(boom("primed failure"))));
    BOOST_TEST(!ex.prime_error(touchy{8}, std::make_exception_ptr(boom("another"))));
    BOOST_TEST(failure_of([&] { ex.run(touchy{8}); }) == "primed failure");
    BOOST_TEST(ex.prime(touchy{8}, 81, batch::overwrite));
    BOOST_TEST(ex.run(touchy{8}) == 81);
    BOOST_TEST(ex.prime_error(touchy{8}, std::make_exception_ptr(boom("again")), batch::overwrite));
    BOOST_TEST(failure_of([&] { ex.run(touchy{8}); }) == "again");
    BOOST_CHECK_THROW(ex.prime_error(touchy{9}, nullptr), batch::usage_error);

    // The default forgets failures.
    BOOST_TEST(failure_of([&] { ex.run(plain_touchy{-1}); }) == "no such id");
    BOOST_TEST(failure_of([&] { ex.run(plain_touchy{-1}); }) == "no such id");
    BOOST_TEST(calls<plain_touchy>(ex) == 2u);
}

BOOST_AUTO_TEST_CASE(clear_cache_forgets_every_type) {
    auto ex = make();
    BOOST_CHECK_THROW(ex.run(hana::make_tuple(name_of{1}, recent{1}, fresh_and_few{1}, touchy{-1})), boom);
    BOOST_CHECK_THROW(ex.run(hana::make_tuple(name_of{1}, recent{1}, fresh_and_few{1}, touchy{-1})), boom);
    BOOST_TEST(ex.stats().cache_hits == 4u);
    ex.clear_cache();
    BOOST_CHECK_THROW(ex.run(hana::make_tuple(name_of{1}, recent{1}, fresh_and_few{1}, touchy{-1})), boom);
    BOOST_TEST(ex.stats().cache_hits == 0u);
    BOOST_TEST(ex.cache_of<recent>().size() == 1u);
}
