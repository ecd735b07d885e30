#pragma once

// The random programs: a tree of generator nodes, each doing a sequence of steps (yield one
// operation of three types, the third cached; yield a tuple of child generators, operations and
// shared generators, plainly or settled (batch::settle: every part completes, failures are
// counted in place); throw, run a block that catches, or yield a shared generator). The root
// also primes and forgets cached results between its steps, when nothing else runs. Shared generators, made with
// batch::share or through a memoised function (which may itself throw), are the program's
// "entries"; entry i may yield only entries after it, so there is no cycle. The batchers fail
// by rules drawn with the program: whole calls throw, single operations fail, and calls return
// one result too many or too few.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace model {

struct node;

struct step {
    enum kind_t { operation, parallel, raise, attempt, join, settle, prime, forget } kind = operation;
    int type = 0;                            // operation: 0 (op_a), 1 (op_b) or 2 (op_c, cached)
    int key = 0;                             // operation, prime, forget
    std::vector<std::shared_ptr<node>> kids; // parallel, settle: child generators
    std::vector<int> a_keys, b_keys, c_keys; // parallel, settle: operations beside them
    std::vector<int> joins;                  // parallel, settle: entries beside them
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
constexpr std::int64_t settled_failure = 200000; ///< Added to a failure's code in a settled yield.
inline std::int64_t prime_value(int key) { return 7000 + key; }

/// Keys of the cached type come from a small range, so that hits, primes and forgets meet.
constexpr unsigned c_key_range = 12;

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
                s.type = pick(3);
                s.key = s.type == 2 ? pick(c_key_range) : pick(60);
                s.code = 10 + pick(5);
            } else if (roll < 75) {
                s.kind = roll < 45 ? step::settle : step::parallel;
                for (int i = pick(4); i > 0; --i) s.kids.push_back(make_node(depth - 1, first_joinable));
                for (int i = pick(3); i > 0; --i) s.a_keys.push_back(pick(60));
                for (int i = pick(3); i > 0; --i) s.b_keys.push_back(pick(60));
                for (int i = pick(3); i > 0; --i) s.c_keys.push_back(pick(c_key_range));
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
    for (int i = static_cast<int>(src.pick(4)); i > 0; --i) { // primes and forgets between the root's steps
        step s;
        s.kind = src.pick(2) == 0 ? step::prime : step::forget;
        s.key = static_cast<int>(src.pick(c_key_range));
        auto& steps = p.root->steps;
        steps.insert(steps.begin() + static_cast<std::ptrdiff_t>(src.pick(static_cast<unsigned>(steps.size() + 1))),
                     std::move(s));
    }
    return p;
}

/// True when some step of `steps` (or of the steps inside them) is of kind `k`.
inline bool uses(std::vector<step> const& steps, step::kind_t k) {
    for (auto const& s : steps) {
        if (s.kind == k || uses(s.body, k)) return true;
        for (auto const& kid : s.kids) {
            if (uses(kid->steps, k)) return true;
        }
    }
    return false;
}

/// True when some step of `p` is of kind `k`.
inline bool uses(program const& p, step::kind_t k) {
    for (auto const& e : p.entries) {
        if (uses(e.body->steps, k)) return true;
    }
    return uses(p.root->steps, k);
}

/// The program, in a form a person can read, for a failure's report.
inline void describe(std::ostringstream& out, std::vector<step> const& steps, int indent) {
    std::string const pad(static_cast<std::size_t>(indent) * 2, ' ');
    for (auto const& s : steps) {
        switch (s.kind) {
        case step::operation:
            out << pad << (s.type == 2 ? "op_c " : s.type ? "op_b " : "op_a ") << s.key << "\n";
            break;
        case step::prime:
            out << pad << "prime c " << s.key << "\n";
            break;
        case step::forget:
            out << pad << "forget c " << s.key << "\n";
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
        case step::settle:
            out << pad << (s.kind == step::settle ? "settle" : "parallel") << " a=" << s.a_keys.size()
                << " b=" << s.b_keys.size() << " c=[";
            for (int k : s.c_keys) out << " " << k;
            out << " ] entries=[";
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

} // namespace model
