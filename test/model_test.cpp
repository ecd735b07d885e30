#define BOOST_TEST_MODULE model
// Model-based testing: random programs (trees of generators that yield operations, fan out,
// throw and catch) run through both executors and through a small, obviously correct model that
// computes each program's outcome, its rounds and its batcher calls per type. Batchers fail at
// random: whole calls, single operations, and wrong result counts. A failing seed is printed;
// BATCH_MODEL_SEED=n reruns it, BATCH_MODEL_PROGRAMS=n sets how many programs run.
#include "support.hpp"

#include <batch/dynamic/executor.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <any>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace {

namespace hana = boost::hana;

struct op_a {
    int key;
    using result_type = std::int64_t;
};
struct op_b {
    int key;
    using result_type = std::int64_t;
};
using model_ops = batch::operations<op_a, op_b>;
template <class T>
using mgen = batch::gen<T, model_ops>;

/// A failure with a code, thrown by programs and by batchers.
struct coded {
    std::int64_t code;
};

// --- Programs --------------------------------------------------------------------------------

struct node;

struct step {
    enum kind_t { operation, parallel, raise, attempt } kind;
    int type = 0;                            // operation: 0 (op_a) or 1 (op_b)
    int key = 0;                             // operation
    std::vector<std::shared_ptr<node>> kids; // parallel: child generators
    std::vector<int> a_keys, b_keys;         // parallel: operations beside them
    std::int64_t code = 0;                   // raise
    std::vector<step> body;                  // attempt: caught as a whole
};

struct node {
    std::vector<step> steps;
};

std::vector<step> random_steps(std::mt19937& r, int depth);

std::shared_ptr<node> random_node(std::mt19937& r, int depth) {
    auto n = std::make_shared<node>();
    n->steps = random_steps(r, depth);
    return n;
}

std::vector<step> random_steps(std::mt19937& r, int depth) {
    std::vector<step> steps(1 + r() % 3);
    for (auto& s : steps) {
        unsigned const roll = r() % 100;
        if (roll < 40 || depth == 0) {
            s.kind = roll % 19 == 0 ? step::raise : step::operation;
            s.type = static_cast<int>(r() % 2);
            s.key = static_cast<int>(r() % 60);
            s.code = 10 + static_cast<int>(r() % 5);
        } else if (roll < 80) {
            s.kind = step::parallel;
            for (unsigned i = r() % 4; i > 0; --i) s.kids.push_back(random_node(r, depth - 1));
            for (unsigned i = r() % 3; i > 0; --i) s.a_keys.push_back(static_cast<int>(r() % 60));
            for (unsigned i = r() % 3; i > 0; --i) s.b_keys.push_back(static_cast<int>(r() % 60));
        } else if (roll < 90) {
            s.kind = step::attempt;
            s.body = random_steps(r, depth - 1);
        } else {
            s.kind = step::raise;
            s.code = 10 + static_cast<int>(r() % 5);
        }
    }
    return steps;
}

// --- The batchers' rules, shared by the model and the real batchers --------------------------

std::int64_t value_of(int type, int key) { return key * 3 + type; }
bool fails_alone(int key) { return key % 13 == 12; }
bool call_throws(std::size_t round, int type) { return (round * 31 + static_cast<std::size_t>(type)) % 11 == 3; }
bool call_miscounts(std::size_t round, int type) { return (round * 17 + static_cast<std::size_t>(type)) % 23 == 5; }
std::int64_t alone_code(int key) { return 1000 + key; }
std::int64_t call_code(std::size_t round, int type) { return 2000 + static_cast<std::int64_t>(round) * 10 + type; }
constexpr std::int64_t miscount_code = 3000;
constexpr std::int64_t caught = 100000;

// --- The model -----------------------------------------------------------------------------

struct outcome {
    bool failed = false;
    std::int64_t value = 0; // the result, or the failure's code
};

struct model {
    std::map<std::size_t, std::set<int>> calls; // round -> operation types called

    outcome op(int type, int key, std::size_t& t) {
        std::size_t const round = t + 1;
        calls[round].insert(type);
        t = round;
        if (call_miscounts(round, type)) return {true, miscount_code};
        if (call_throws(round, type)) return {true, call_code(round, type)};
        if (fails_alone(key)) return {true, alone_code(key)};
        return {false, value_of(type, key)};
    }

    outcome steps(std::vector<step> const& steps, std::size_t& t) {
        std::int64_t sum = 0;
        for (auto const& s : steps) {
            switch (s.kind) {
            case step::operation: {
                auto const o = op(s.type, s.key, t);
                if (o.failed) return o;
                sum += o.value;
                break;
            }
            case step::raise:
                return {true, s.code};
            case step::attempt: {
                auto const o = steps_of(s.body, t);
                sum += o.failed ? caught + o.value : o.value;
                break;
            }
            case step::parallel: {
                // Everything starts at t; the yield resumes when the last item is done, and
                // throws the first failure in the order of the structure.
                std::size_t end = t;
                outcome first_failure;
                std::int64_t total = 0;
                auto record = [&](outcome const& o, std::size_t done) {
                    end = std::max(end, done);
                    if (o.failed && !first_failure.failed) first_failure = o;
                    if (!o.failed) total += o.value;
                };
                for (auto const& kid : s.kids) {
                    std::size_t kt = t;
                    auto const o = steps_of(kid->steps, kt);
                    record(o, kt);
                }
                for (int key : s.a_keys) {
                    std::size_t kt = t;
                    auto const o = op(0, key, kt);
                    record(o, kt);
                }
                for (int key : s.b_keys) {
                    std::size_t kt = t;
                    auto const o = op(1, key, kt);
                    record(o, kt);
                }
                t = end;
                if (first_failure.failed) return first_failure;
                sum += total;
                break;
            }
            }
        }
        return {false, sum};
    }

    outcome steps_of(std::vector<step> const& s, std::size_t& t) { return steps(s, t); }
};

// --- The real thing --------------------------------------------------------------------------

template <class Op>
struct rule_batcher {
    int type;
    std::shared_ptr<batch::run_stats const*> stats; // the executor's counters: the current round

    std::vector<batch::outcome<std::int64_t>> operator()(std::span<Op const> in) const {
        std::size_t const round = (*stats)->rounds;
        if (call_throws(round, type)) throw coded{call_code(round, type)};
        std::vector<batch::outcome<std::int64_t>> out;
        for (auto const& op : in) {
            if (fails_alone(op.key)) {
                out.emplace_back(std::make_exception_ptr(coded{alone_code(op.key)}));
            } else {
                out.emplace_back(value_of(type, op.key));
            }
        }
        if (call_miscounts(round, type)) out.emplace_back(0); // one result too many
        return out;
    }
};

std::int64_t code_of(std::exception_ptr const& e) {
    try {
        std::rethrow_exception(e);
    } catch (coded const& c) {
        return c.code;
    } catch (batch::batcher_error const&) {
        return miscount_code;
    }
}

template <class World>
typename World::template gen<std::int64_t> run_steps(std::vector<step> const& steps) {
    std::int64_t sum = 0;
    for (auto const& s : steps) {
        switch (s.kind) {
        case step::operation:
            if (s.type == 0) {
                std::int64_t v = co_yield World::make_a(s.key);
                sum += v;
            } else {
                std::int64_t v = co_yield World::make_b(s.key);
                sum += v;
            }
            break;
        case step::raise:
            throw coded{s.code};
        case step::attempt: {
            std::exception_ptr failure;
            std::int64_t v = 0;
            try {
                std::int64_t const got = co_yield run_steps<World>(s.body); // `v = co_yield` crashes g++ 12
                v = got;
            } catch (...) {
                failure = std::current_exception();
            }
            sum += failure ? caught + code_of(failure) : v;
            break;
        }
        case step::parallel: {
            std::vector<typename World::template gen<std::int64_t>> kids;
            for (auto const& kid : s.kids) kids.push_back(run_steps<World>(kid->steps));
            std::vector<typename World::a_op> as;
            for (int key : s.a_keys) as.push_back(World::make_a(key));
            std::vector<typename World::b_op> bs;
            for (int key : s.b_keys) bs.push_back(World::make_b(key));
            auto [kv, av, bv] = co_yield hana::make_tuple(std::move(kids), std::move(as), std::move(bs));
            for (auto v : kv) sum += v;
            for (auto v : av) sum += v;
            for (auto v : bv) sum += v;
            break;
        }
        }
    }
    co_return sum;
}

/// The typed executor.
struct typed_world {
    template <class T>
    using gen = mgen<T>;
    using a_op = op_a;
    using b_op = op_b;

    static op_a make_a(int key) { return op_a{key}; }
    static op_b make_b(int key) { return op_b{key}; }

    std::shared_ptr<batch::run_stats const*> stats = std::make_shared<batch::run_stats const*>(nullptr);
    batch::executor<model_ops, rule_batcher<op_a>, rule_batcher<op_b>> ex =
        batch::make_executor<model_ops>(rule_batcher<op_a>{0, stats}, rule_batcher<op_b>{1, stats});

    typed_world() { *stats = &ex.stats(); }
    std::size_t calls(int type) const { return type ? ex.stats_of<op_b>().batches : ex.stats_of<op_a>().batches; }
    void new_run() {}
};

namespace dyn = batch::dynamic;

/// The same rules as a runtime-typed batcher.
struct dynamic_rule final : dyn::batcher {
    int type = 0;
    batch::run_stats const* stats = nullptr;
    std::size_t calls = 0;
    std::vector<std::any> batch(std::span<dyn::operation const* const> in) override;
};

struct dynamic_op final : dyn::operation_of<std::int64_t> {
    int key;
    dynamic_rule* server;
    dynamic_op(int k, dynamic_rule* s) : key(k), server(s) {}
    dyn::batcher& get_batcher() const override { return *server; }
};

std::vector<std::any> dynamic_rule::batch(std::span<dyn::operation const* const> in) {
    ++calls;
    std::size_t const round = stats->rounds;
    if (call_throws(round, type)) throw coded{call_code(round, type)};
    std::vector<std::any> out;
    for (auto const* op : in) {
        int const key = static_cast<dynamic_op const*>(op)->key;
        if (fails_alone(key)) {
            out.emplace_back(std::make_exception_ptr(coded{alone_code(key)}));
        } else {
            out.emplace_back(value_of(type, key));
        }
    }
    if (call_miscounts(round, type)) out.emplace_back(std::int64_t{0});
    return out;
}

/// The runtime-typed baseline.
struct dynamic_world {
    template <class T>
    using gen = dyn::gen<T>;
    using a_op = dynamic_op;
    using b_op = dynamic_op;

    static inline dynamic_rule rules[2];
    static dynamic_op make_a(int key) { return dynamic_op(key, &rules[0]); }
    static dynamic_op make_b(int key) { return dynamic_op(key, &rules[1]); }

    dyn::executor ex;

    dynamic_world() {
        for (int t = 0; t < 2; ++t) {
            rules[t].type = t;
            rules[t].stats = &ex.stats();
        }
    }
    std::size_t calls(int type) const { return rules[type].calls; }
    void new_run() {
        for (auto& r : rules) r.calls = 0;
    }
};

/// The program, in a form a person can read, for a failing seed's report.
std::string describe(std::vector<step> const& steps, int indent = 0) {
    std::string out;
    std::string const pad(static_cast<std::size_t>(indent) * 2, ' ');
    for (auto const& s : steps) {
        switch (s.kind) {
        case step::operation:
            out += pad + (s.type ? "op_b " : "op_a ") + std::to_string(s.key) + "\n";
            break;
        case step::raise:
            out += pad + "throw " + std::to_string(s.code) + "\n";
            break;
        case step::attempt:
            out += pad + "try\n" + describe(s.body, indent + 1);
            break;
        case step::parallel:
            out +=
                pad + "parallel a=" + std::to_string(s.a_keys.size()) + " b=" + std::to_string(s.b_keys.size()) + "\n";
            for (auto const& kid : s.kids) out += pad + " child\n" + describe(kid->steps, indent + 2);
            break;
        }
    }
    return out;
}

struct checked {
    std::size_t programs = 0;
    std::size_t failures_expected = 0;
};

// Runs the program twice on one executor of `World` (a run must leave nothing behind).
template <class World>
bool check_in(unsigned seed, node const& program, outcome const& expected, std::size_t rounds, std::size_t calls_a,
              std::size_t calls_b) {
    World w;
    for (int pass = 0; pass < 2; ++pass) {
        w.new_run();
        outcome got;
        try {
            got = {false, w.ex.run(run_steps<World>(program.steps))};
        } catch (...) {
            got = {true, code_of(std::current_exception())};
        }
        bool const same = got.failed == expected.failed && got.value == expected.value && w.ex.stats().rounds == rounds
                          && w.calls(0) == calls_a && w.calls(1) == calls_b;
        if (!same) {
            BOOST_ERROR((std::is_same_v<World, typed_world> ? "typed" : "dynamic")
                        << ", seed " << seed << " pass " << pass << ": expected "
                        << (expected.failed ? "failure " : "value ") << expected.value << ", " << rounds
                        << " rounds, calls " << calls_a << "/" << calls_b << "; got "
                        << (got.failed ? "failure " : "value ") << got.value << ", " << w.ex.stats().rounds
                        << " rounds, calls " << w.calls(0) << "/" << w.calls(1) << "\n"
                        << describe(program.steps));
            return false;
        }
    }
    return true;
}

bool check_one(unsigned seed, checked& tally) {
    std::mt19937 r(seed);
    auto const program = random_node(r, 1 + static_cast<int>(r() % 4));
    model m;
    std::size_t rounds = 0;
    auto const expected = m.steps(program->steps, rounds);
    std::size_t calls_a = 0, calls_b = 0;
    for (auto const& [round, types] : m.calls) {
        calls_a += types.count(0);
        calls_b += types.count(1);
    }

    if (!check_in<typed_world>(seed, *program, expected, rounds, calls_a, calls_b)) return false;
    if (!check_in<dynamic_world>(seed, *program, expected, rounds, calls_a, calls_b)) return false;
    ++tally.programs;
    if (expected.failed) ++tally.failures_expected;
    return true;
}

} // namespace

BOOST_AUTO_TEST_CASE(random_programs_agree_with_the_model) {
    unsigned first = 1;
    unsigned count = 20000;
    if (char const* seed = std::getenv("BATCH_MODEL_SEED")) {
        first = static_cast<unsigned>(std::stoul(seed));
        count = 1;
    }
    if (char const* n = std::getenv("BATCH_MODEL_PROGRAMS")) count = static_cast<unsigned>(std::stoul(n));
    checked tally;
    for (unsigned seed = first; seed < first + count; ++seed) {
        if (!check_one(seed, tally)) break;
    }
    BOOST_TEST(tally.programs == count);
    BOOST_TEST_MESSAGE(tally.programs << " programs checked, " << tally.failures_expected << " ending in a failure");
    BOOST_TEST(tally.failures_expected > count / 10); // the failure paths are exercised
    BOOST_TEST(tally.failures_expected < count);      // and so are the successful ones
}
