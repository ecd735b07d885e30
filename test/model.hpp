#pragma once

// Model-based testing, shared by the model test, the thread test and the fuzz target.
//
// A program is a tree of generator nodes; each node does a sequence of steps: yield one
// operation (of two types), yield a tuple of child generators, operations and shared
// generators, throw, run a block that catches, or yield a shared generator. Shared generators
// (made with batch::share or through a memoised function, which may itself throw) are the
// program's "entries"; entry i may yield only entries after it, so there is no cycle. The
// batchers fail by rules drawn with the program: whole calls throw, single operations fail, and
// calls return one result too many or too few.
//
// The model is a direct interpreter that computes what every node returns or throws, in which
// round it finishes (an operation takes one round; a tuple finishes with its last item and
// throws its first failure in order), and which operation types are called in each round. A
// shared generator starts when it is first yielded and every later yield waits for that one
// run, so the model finds each entry's start by iterating to a fixed point. The same program
// then runs, twice, through each executor (typed and dynamic) with its shared generators and
// memo cache kept across both runs; outcome, rounds and calls per type must agree.

#include <batch/batch.hpp>
#include <batch/dynamic/executor.hpp>

#include <boost/hana/tuple.hpp>

#include <algorithm>
#include <any>
#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace model {

// --- Where the choices come from --------------------------------------------------------------

/// Choices from a seeded generator: the model test.
struct random_source {
    std::mt19937 r;
    explicit random_source(unsigned seed) : r(seed) {}
    unsigned pick(unsigned n) { return static_cast<unsigned>(r() % n); }
};

/// Choices read from bytes, then zeros once they run out: the fuzz target.
struct byte_source {
    std::uint8_t const* data;
    std::size_t size;
    unsigned pick(unsigned n) {
        if (size == 0) return 0;
        unsigned v = *data++;
        --size;
        if (n > 256 && size > 0) {
            v = v << 8 | *data++;
            --size;
        }
        return v % n;
    }
};

// --- Programs ---------------------------------------------------------------------------------

struct node;

struct step {
    enum kind_t { operation, parallel, raise, attempt, join } kind = operation;
    int type = 0;                            // operation: 0 (op_a) or 1 (op_b)
    int key = 0;                             // operation
    std::vector<std::shared_ptr<node>> kids; // parallel: child generators
    std::vector<int> a_keys, b_keys;         // parallel: operations beside them
    std::vector<int> joins;                  // parallel: entries beside them
    std::int64_t code = 0;                   // raise
    std::vector<step> body;                  // attempt: caught as a whole
    int entry = 0;                           // join
};

struct node {
    std::vector<step> steps;
};

/// A shared generator of the program.
struct entry {
    std::shared_ptr<node> body;
    bool memoised = false;         ///< Made through a memoised function rather than batch::share.
    bool throws_when_made = false; ///< The memoised function throws `code` instead.
    std::int64_t code = 0;
};

/// When the batchers fail. A rule "hits" round r for type t when (r * mul + t) % mod == hit.
struct rules {
    unsigned throw_mul = 31, throw_mod = 11, throw_hit = 3;
    unsigned miscount_mul = 17, miscount_mod = 23, miscount_hit = 5;
    int alone_mod = 13; ///< Operations whose key % alone_mod == alone_mod - 1 fail alone.

    [[nodiscard]] bool call_throws(std::size_t round, int type) const {
        return (round * throw_mul + static_cast<std::size_t>(type)) % throw_mod == throw_hit;
    }
    [[nodiscard]] bool call_miscounts(std::size_t round, int type) const {
        return (round * miscount_mul + static_cast<std::size_t>(type)) % miscount_mod == miscount_hit;
    }
    [[nodiscard]] bool fails_alone(int key) const { return key % alone_mod == alone_mod - 1; }
};

struct program {
    rules r;
    std::vector<entry> entries;
    std::shared_ptr<node> root;
};

inline std::int64_t value_of(int type, int key) { return key * 3 + type; }
inline std::int64_t alone_code(int key) { return 1000 + key; }
inline std::int64_t call_code(std::size_t round, int type) {
    return 2000 + static_cast<std::int64_t>(round) * 10 + type;
}
constexpr std::int64_t miscount_code = 3000;
constexpr std::int64_t caught = 100000;

template <class Source>
struct program_maker {
    Source& src;
    int entries = 0;
    int budget = 200; ///< Steps left: keeps programs small whatever the choices.

    int pick(unsigned n) { return static_cast<int>(src.pick(n)); }

    std::vector<step> steps(int depth, int first_joinable) {
        std::vector<step> out(static_cast<std::size_t>(1 + pick(3)));
        for (auto& s : out) {
            --budget;
            int const roll = pick(100);
            bool const joinable = first_joinable < entries;
            if (roll < 35 || depth == 0 || budget <= 0) {
                s.kind = roll % 19 == 0 ? step::raise : step::operation;
                s.type = pick(2);
                s.key = pick(60);
                s.code = 10 + pick(5);
            } else if (roll < 75) {
                s.kind = step::parallel;
                for (int i = pick(4); i > 0; --i) s.kids.push_back(make_node(depth - 1, first_joinable));
                for (int i = pick(3); i > 0; --i) s.a_keys.push_back(pick(60));
                for (int i = pick(3); i > 0; --i) s.b_keys.push_back(pick(60));
                if (joinable) {
                    for (int i = pick(3); i > 0; --i) s.joins.push_back(join_target(first_joinable));
                }
            } else if (roll < 85) {
                s.kind = step::attempt;
                s.body = steps(depth - 1, first_joinable);
            } else if (roll < 93 && joinable) {
                s.kind = step::join;
                s.entry = join_target(first_joinable);
            } else {
                s.kind = step::raise;
                s.code = 10 + pick(5);
            }
        }
        return out;
    }

    int join_target(int first_joinable) {
        return first_joinable + pick(static_cast<unsigned>(entries - first_joinable));
    }

    std::shared_ptr<node> make_node(int depth, int first_joinable) {
        auto n = std::make_shared<node>();
        n->steps = steps(depth, first_joinable);
        return n;
    }
};

/// A program drawn from `src`: up to `max_depth` levels of nodes, up to three entries.
template <class Source>
program make_program(Source& src, int max_depth = 4) {
    program p;
    program_maker<Source> m{src};
    if (src.pick(4) == 0) { // a quarter of the programs draw other failure rules
        p.r.throw_mul = 1 + src.pick(40);
        p.r.throw_mod = 2 + src.pick(20);
        p.r.throw_hit = src.pick(p.r.throw_mod);
        p.r.miscount_mul = 1 + src.pick(40);
        p.r.miscount_mod = 2 + src.pick(30);
        p.r.miscount_hit = src.pick(p.r.miscount_mod);
        p.r.alone_mod = 2 + static_cast<int>(src.pick(20));
    }
    int const depth = 1 + static_cast<int>(src.pick(static_cast<unsigned>(max_depth)));
    m.entries = static_cast<int>(src.pick(4));
    p.entries.resize(static_cast<std::size_t>(m.entries));
    for (int i = m.entries - 1; i >= 0; --i) { // entry i may yield entries after it
        auto& e = p.entries[static_cast<std::size_t>(i)];
        e.memoised = src.pick(2) == 1;
        e.throws_when_made = e.memoised && src.pick(6) == 0;
        e.code = 20 + static_cast<int>(src.pick(5));
        e.body = m.make_node(std::max(0, depth - 1), i + 1);
    }
    p.root = m.make_node(depth, 0);
    return p;
}

/// The program, in a form a person can read, for a failure's report.
inline void describe(std::ostringstream& out, std::vector<step> const& steps, int indent) {
    std::string const pad(static_cast<std::size_t>(indent) * 2, ' ');
    for (auto const& s : steps) {
        switch (s.kind) {
        case step::operation:
            out << pad << (s.type ? "op_b " : "op_a ") << s.key << "\n";
            break;
        case step::raise:
            out << pad << "throw " << s.code << "\n";
            break;
        case step::attempt:
            out << pad << "try\n";
            describe(out, s.body, indent + 1);
            break;
        case step::join:
            out << pad << "yield entry " << s.entry << "\n";
            break;
        case step::parallel:
            out << pad << "parallel a=" << s.a_keys.size() << " b=" << s.b_keys.size() << " entries=[";
            for (int j : s.joins) out << " " << j;
            out << " ]\n";
            for (auto const& kid : s.kids) {
                out << pad << " child\n";
                describe(out, kid->steps, indent + 2);
            }
            break;
        }
    }
}

inline std::string describe(program const& p) {
    std::ostringstream out;
    out << "rules: throw (r*" << p.r.throw_mul << "+t)%" << p.r.throw_mod << "==" << p.r.throw_hit << ", miscount (r*"
        << p.r.miscount_mul << "+t)%" << p.r.miscount_mod << "==" << p.r.miscount_hit << ", alone key%" << p.r.alone_mod
        << "\n";
    for (std::size_t i = 0; i < p.entries.size(); ++i) {
        auto const& e = p.entries[i];
        out << "entry " << i << (e.memoised ? " (memoised" : " (shared")
            << (e.throws_when_made ? ", its function throws " + std::to_string(e.code) : std::string()) << ")\n";
        describe(out, e.body->steps, 1);
    }
    out << "root\n";
    describe(out, p.root->steps, 1);
    return out.str();
}

// --- The model --------------------------------------------------------------------------------

struct outcome {
    bool failed = false;
    std::int64_t value = 0; ///< The result, or the failure's code.
    friend bool operator==(outcome const&, outcome const&) = default;
};

/// What a run must give.
struct expected {
    outcome result;
    std::size_t rounds = 0;
    std::size_t calls[2] = {0, 0};
    std::vector<std::optional<outcome>> kept; ///< Per entry: its outcome, if it ran.
    bool converged = true;
};

class evaluator {
public:
    /// `done`: the entries that finished in an earlier run, with their outcomes.
    evaluator(program const& p, std::vector<std::optional<outcome>> done) : p_(p), done_(std::move(done)) {
        done_.resize(p.entries.size());
    }

    expected run() {
        std::vector<std::optional<std::size_t>> start(p_.entries.size());
        expected e;
        // Each pass assumes when every entry starts, and sees when each is first yielded; the
        // assumption that sees itself is the real schedule.
        for (std::size_t pass = 0;; ++pass) {
            start_ = start;
            seen_.assign(p_.entries.size(), std::nullopt);
            outcomes_.assign(p_.entries.size(), std::nullopt);
            calls_.clear();
            std::size_t t = 0;
            e.result = steps(p_.root->steps, t);
            e.rounds = t;
            if (seen_ == start_) break;
            if (pass > 2 * p_.entries.size() + 2) {
                e.converged = false;
                break;
            }
            start = seen_;
        }
        for (auto const& [round, types] : calls_) {
            for (int type : types) ++e.calls[type];
        }
        e.kept = done_;
        for (std::size_t i = 0; i < outcomes_.size(); ++i) {
            if (outcomes_[i]) e.kept[i] = outcomes_[i];
        }
        return e;
    }

private:
    outcome op(int type, int key, std::size_t& t) {
        std::size_t const round = t + 1;
        calls_[round].insert(type);
        t = round;
        if (p_.r.call_throws(round, type)) return {true, call_code(round, type)};
        if (p_.r.call_miscounts(round, type)) return {true, miscount_code};
        if (p_.r.fails_alone(key)) return {true, alone_code(key)};
        return {false, value_of(type, key)};
    }

    // Yields entry i at time t: its kept outcome, or the one run that starts when it is first
    // yielded, finished at max(t, its end).
    outcome join(int i, std::size_t& t) {
        auto const u = static_cast<std::size_t>(i);
        if (done_[u]) return *done_[u];
        if (!seen_[u] || t < *seen_[u]) seen_[u] = t;
        std::size_t end = start_[u].value_or(t);
        auto const o = steps(p_.entries[u].body->steps, end);
        outcomes_[u] = o;
        t = std::max(t, end);
        return o;
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
                auto const o = this->steps(s.body, t);
                sum += o.failed ? caught + o.value : o.value;
                break;
            }
            case step::join: {
                auto const& e = p_.entries[static_cast<std::size_t>(s.entry)];
                if (e.throws_when_made) return {true, e.code}; // thrown before the yield
                auto const o = join(s.entry, t);
                if (o.failed) return o;
                sum += o.value;
                break;
            }
            case step::parallel: {
                // Making the entries' handles comes first: a memoised function that throws
                // fails the step before anything is yielded.
                for (int j : s.joins) {
                    auto const& e = p_.entries[static_cast<std::size_t>(j)];
                    if (e.throws_when_made) return {true, e.code};
                }
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
                    auto const o = this->steps(kid->steps, kt);
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
                for (int j : s.joins) {
                    std::size_t kt = t;
                    auto const o = join(j, kt);
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

    program const& p_;
    std::vector<std::optional<outcome>> done_;
    std::vector<std::optional<std::size_t>> start_, seen_;
    std::vector<std::optional<outcome>> outcomes_;
    std::map<std::size_t, std::set<int>> calls_;
};

// --- The real thing ---------------------------------------------------------------------------

namespace hana = boost::hana;

/// A failure with a code, thrown by programs, batchers and memoised functions.
struct coded {
    std::int64_t code;
};

struct op_a {
    int key;
    using result_type = std::int64_t;
};
struct op_b {
    int key;
    using result_type = std::int64_t;
};
using ops = batch::operations<op_a, op_b>;

/// Applies the program's rules to one call of type `type` in round `round`.
template <class Out, class Keys>
std::vector<Out> answer(rules const& r, int type, std::size_t round, Keys const& keys) {
    if (r.call_throws(round, type)) throw coded{call_code(round, type)};
    std::vector<Out> out;
    out.reserve(keys.size() + 1);
    for (int key : keys) {
        if (r.fails_alone(key)) {
            out.emplace_back(std::make_exception_ptr(coded{alone_code(key)}));
        } else {
            out.emplace_back(value_of(type, key));
        }
    }
    if (r.call_miscounts(round, type)) {
        if (round % 2 == 0) {
            out.emplace_back(std::int64_t{0}); // one result too many
        } else {
            out.pop_back(); // one too few
        }
    }
    return out;
}

/// The typed executor.
struct typed_world {
    template <class T>
    using gen = batch::gen<T, ops>;

    template <class Op>
    struct rule_batcher {
        int type;
        typed_world const* world;

        std::vector<batch::outcome<std::int64_t>> operator()(std::span<Op const> in) const {
            std::vector<int> keys;
            for (auto const& op : in) keys.push_back(op.key);
            return answer<batch::outcome<std::int64_t>>(*world->r, type, world->ex.stats().rounds, keys);
        }
    };

    rules const* r;
    batch::executor<ops, rule_batcher<op_a>, rule_batcher<op_b>> ex =
        batch::make_executor<ops>(rule_batcher<op_a>{0, this}, rule_batcher<op_b>{1, this});

    explicit typed_world(rules const& rs) : r(&rs) {}
    typed_world(typed_world const&) = delete;

    static op_b make_b(int key) { return op_b{key}; }
    static op_a make_a(int key) { return op_a{key}; }
    [[nodiscard]] std::size_t calls(int type) const {
        return type ? ex.stats_of<op_b>().batches : ex.stats_of<op_a>().batches;
    }
    void new_run() {}
    static constexpr char const* name = "typed";
};

namespace dyn = batch::dynamic;

/// The runtime-typed baseline.
struct dynamic_world {
    template <class T>
    using gen = dyn::gen<T>;

    struct rule_batcher final : dyn::batcher {
        int type = 0;
        dynamic_world const* world = nullptr;
        std::size_t calls = 0;
        std::vector<std::any> batch(std::span<dyn::operation const* const> in) override;
    };

    struct op final : dyn::operation_of<std::int64_t> {
        int key;
        rule_batcher* server;
        op(int k, rule_batcher* s) : key(k), server(s) {}
        dyn::batcher& get_batcher() const override { return *server; }
    };

    rules const* r;
    rule_batcher batchers[2];
    dyn::executor ex;

    explicit dynamic_world(rules const& rs) : r(&rs) {
        for (int t = 0; t < 2; ++t) {
            batchers[t].type = t;
            batchers[t].world = this;
        }
    }
    dynamic_world(dynamic_world const&) = delete;

    op make_a(int key) { return op(key, &batchers[0]); }
    op make_b(int key) { return op(key, &batchers[1]); }
    [[nodiscard]] std::size_t calls(int type) const { return batchers[type].calls; }
    void new_run() {
        for (auto& b : batchers) b.calls = 0;
    }
    static constexpr char const* name = "dynamic";
};

inline std::vector<std::any> dynamic_world::rule_batcher::batch(std::span<dyn::operation const* const> in) {
    ++calls;
    std::vector<int> keys;
    for (auto const* o : in) keys.push_back(static_cast<op const*>(o)->key);
    return answer<std::any>(*world->r, type, world->ex.stats().rounds, keys);
}

inline std::int64_t code_of(std::exception_ptr const& e) {
    try {
        std::rethrow_exception(e);
    } catch (coded const& c) {
        return c.code;
    } catch (batch::batcher_error const&) {
        return miscount_code;
    } catch (...) {
        return -1; // not a failure the program or its batchers make
    }
}

/// One program's generators on one world: its shared generators and memo cache outlive runs.
template <class World>
class instance {
public:
    template <class T>
    using gen = typename World::template gen<T>;
    using shared_t = decltype(batch::share(std::declval<gen<std::int64_t>>()));

    instance(program const& p, World& w) : p_(p), w_(w) {
        for (std::size_t i = 0; i < p.entries.size(); ++i) {
            shared_.push_back(p.entries[i].memoised ? shared_t{} : batch::share(steps(p.entries[i].body->steps)));
        }
    }
    instance(instance const&) = delete;

    gen<std::int64_t> root() { return steps(p_.root->steps); }

private:
    struct maker {
        instance* self;
        gen<std::int64_t> operator()(int i) const {
            auto const& e = self->p_.entries[static_cast<std::size_t>(i)];
            if (e.throws_when_made) throw coded{e.code};
            return self->steps(e.body->steps);
        }
    };

    shared_t handle(int i) {
        return p_.entries[static_cast<std::size_t>(i)].memoised ? memo_(i) : shared_[static_cast<std::size_t>(i)];
    }

    gen<std::int64_t> steps(std::vector<step> const& steps) {
        std::int64_t sum = 0;
        for (auto const& s : steps) {
            switch (s.kind) {
            case step::operation:
                if (s.type == 0) {
                    std::int64_t const v = co_yield w_.make_a(s.key);
                    sum += v;
                } else {
                    std::int64_t const v = co_yield w_.make_b(s.key);
                    sum += v;
                }
                break;
            case step::raise:
                throw coded{s.code};
            case step::attempt: {
                std::exception_ptr failure;
                std::int64_t v = 0;
                try {
                    std::int64_t const got = co_yield this->steps(s.body); // `v = co_yield` crashes g++ 12
                    v = got;
                } catch (...) {
                    failure = std::current_exception();
                }
                sum += failure ? caught + code_of(failure) : v;
                break;
            }
            case step::join: {
                std::int64_t const v = co_yield handle(s.entry);
                sum += v;
                break;
            }
            case step::parallel: {
                std::vector<gen<std::int64_t>> kids;
                for (auto const& kid : s.kids) kids.push_back(this->steps(kid->steps));
                std::vector<decltype(w_.make_a(0))> as;
                for (int key : s.a_keys) as.push_back(w_.make_a(key));
                std::vector<decltype(w_.make_b(0))> bs;
                for (int key : s.b_keys) bs.push_back(w_.make_b(key));
                std::vector<shared_t> joins;
                for (int j : s.joins) joins.push_back(handle(j));
                auto [kv, av, bv, jv] =
                    co_yield hana::make_tuple(std::move(kids), std::move(as), std::move(bs), std::move(joins));
                for (auto v : kv) sum += v;
                for (auto v : av) sum += v;
                for (auto v : bv) sum += v;
                for (auto v : jv) sum += v;
                break;
            }
            }
        }
        co_return sum;
    }

    program const& p_;
    World& w_;
    std::vector<shared_t> shared_;
    batch::memo_cache cache_;
    decltype(batch::memoize(std::declval<batch::memo_cache&>(), std::declval<maker>())) memo_ =
        batch::memoize(cache_, maker{this});
};

/// What both runs of a program must give: the second finds the shared generators the first
/// finished already done.
using expectations = std::array<expected, 2>;

/// Runs `p` twice on one executor of `World`, its shared generators and memo cache kept across
/// both runs, and compares each run with `want`. Empty if they agree, else what differs.
template <class World>
std::string check_in(program const& p, expectations const& want) {
    World w(p.r);
    instance<World> in(p, w);
    for (std::size_t pass = 0; pass < want.size(); ++pass) {
        auto const& e = want[pass];
        w.new_run();
        outcome got;
        try {
            got = {false, w.ex.run(in.root())};
        } catch (...) {
            got = {true, code_of(std::current_exception())};
        }
        std::size_t const rounds = w.ex.stats().rounds;
        if (got != e.result || rounds != e.rounds || w.calls(0) != e.calls[0] || w.calls(1) != e.calls[1]) {
            std::ostringstream out;
            out << World::name << " executor, run " << pass + 1 << ": expected "
                << (e.result.failed ? "failure " : "value ") << e.result.value << ", " << e.rounds << " rounds, calls "
                << e.calls[0] << "/" << e.calls[1] << "; got " << (got.failed ? "failure " : "value ") << got.value
                << ", " << rounds << " rounds, calls " << w.calls(0) << "/" << w.calls(1) << "\n"
                << describe(p);
            return out.str();
        }
    }
    return {};
}

/// The result of checking a program: what differs (empty if the executors agree with the
/// model), and what the model says of its first run.
struct verdict {
    std::string mismatch;
    outcome first_run;
};

/// Checks `p` against both executors.
inline verdict check(program const& p) {
    auto const first = evaluator(p, {}).run();
    expectations const want{first, evaluator(p, first.kept).run()};
    if (!want[0].converged || !want[1].converged) {
        return {"the model found no schedule for its shared generators\n" + describe(p), first.result};
    }
    auto why = check_in<typed_world>(p, want);
    if (why.empty()) why = check_in<dynamic_world>(p, want);
    return {std::move(why), first.result};
}

} // namespace model
