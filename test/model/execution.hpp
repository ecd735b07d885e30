#pragma once

// A program as real generators on one of the test worlds (typed or dynamic), with batchers
// that follow the program's failure rules.

#include "../worlds.hpp"
#include "program.hpp"

#include <batch/batch.hpp>

#include <boost/hana/tuple.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <utility>
#include <vector>

namespace model {

namespace hana = boost::hana;

/// A failure with a code, thrown by programs, batchers and memoised functions.
struct coded {
    std::int64_t code;
};

/// The program's failure rules as a rule of the test worlds: one call of type `type` in round
/// `round` throws, miscounts, or fails single operations as the rules say.
struct program_rules {
    using value_type = std::int64_t;
    rules const* r;

    std::vector<batch::outcome<std::int64_t>> answer(int type, std::span<int const> keys, std::size_t round) const {
        if (r->call_throws(round, type)) throw coded{call_code(round, type)};
        std::vector<batch::outcome<std::int64_t>> out;
        out.reserve(keys.size() + 1);
        for (int key : keys) {
            if (r->fails_alone(key)) {
                out.emplace_back(std::make_exception_ptr(coded{alone_code(key)}));
            } else {
                out.emplace_back(value_of(type, key));
            }
        }
        if (r->call_miscounts(round, type)) {
            if (round % 2 == 0) {
                out.emplace_back(std::int64_t{0}); // one result too many
            } else {
                out.pop_back(); // one too few
            }
        }
        return out;
    }
};

using typed_world = test::typed_world<program_rules>;
using async_world = test::async_world<program_rules>;
using dynamic_world = test::dynamic_world<program_rules>;

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

    /// `world` must outlive the runs: the operations go to its batchers.
    instance(program const& p, World& world) : p_(p), world_(world) {
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
                    std::int64_t const v = co_yield World::a(s.key);
                    sum += v;
                } else if (s.type == 1) {
                    std::int64_t const v = co_yield World::b(s.key);
                    sum += v;
                } else {
                    std::int64_t const v = co_yield World::c(s.key);
                    sum += v;
                }
                break;
            case step::prime:
                world_.prime(s.key, prime_value(s.key));
                break;
            case step::forget:
                world_.forget(s.key);
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
            case step::parallel:
            case step::settle: {
                std::vector<gen<std::int64_t>> kids;
                for (auto const& kid : s.kids) kids.push_back(this->steps(kid->steps));
                std::vector<typename World::a_op> as;
                for (int key : s.a_keys) as.push_back(World::a(key));
                std::vector<typename World::b_op> bs;
                for (int key : s.b_keys) bs.push_back(World::b(key));
                std::vector<typename World::c_op> cs;
                for (int key : s.c_keys) cs.push_back(World::c(key));
                std::vector<shared_t> joins;
                for (int j : s.joins) joins.push_back(handle(j));
                auto items =
                    hana::make_tuple(std::move(kids), std::move(as), std::move(bs), std::move(cs), std::move(joins));
                if (s.kind == step::parallel) {
                    auto [kv, av, bv, cv, jv] = co_yield std::move(items);
                    for (auto const* part : {&kv, &av, &bv, &cv, &jv}) {
                        for (auto v : *part) sum += v;
                    }
                } else {
                    auto [kv, av, bv, cv, jv] = co_yield batch::settle(std::move(items));
                    for (auto const* part : {&kv, &av, &bv, &cv, &jv}) {
                        for (auto const& o : *part)
                            sum += o.has_value() ? o.value() : settled_failure + code_of(o.error());
                    }
                }
                break;
            }
            }
        }
        co_return sum;
    }

    program const& p_;
    World& world_;
    std::vector<shared_t> shared_;
    batch::memo_cache cache_;
    decltype(batch::memoize(std::declval<batch::memo_cache&>(), std::declval<maker>())) memo_ =
        batch::memoize(cache_, maker{this});
};

} // namespace model
