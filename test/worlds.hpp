#pragma once

// The same programs, written once, run against both executors. A world supplies the generator
// type, two operation types made by `W::a(key)` and `W::b(key)`, and an executor `ex` whose
// batchers count their calls and answer through a rule, which decides what every operation
// gives:
//
//   struct some_rule {
//       using value_type = ...; // what an operation gives
//       std::vector<batch::outcome<value_type>> answer(int type, std::span<int const> keys,
//                                                      std::size_t round) const;
//   };
//
// `type` is 0 for `a` and 1 for `b`; `round` is the executor's round. A rule may throw to fail
// the whole call, fail single operations through their outcomes, or return the wrong number
// of results to break the batcher's contract. The tests' rules: `doubling` here, the failure
// injection of failure_paths_test and the random programs' rules of model/.

#include <batch/batch.hpp>
#include <batch/dynamic/executor.hpp>

#include <any>
#include <array>
#include <cstddef>
#include <exception>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

namespace test {

/// `a(k)` gives `2k`, `b(k)` gives `k`.
struct doubling {
    using value_type = int;
    std::vector<batch::outcome<int>> answer(int type, std::span<int const> keys, std::size_t) const {
        std::vector<batch::outcome<int>> out;
        out.reserve(keys.size());
        for (int k : keys) out.emplace_back(type == 0 ? 2 * k : k);
        return out;
    }
};

/// The typed library: batch::make_executor over two statically typed operations.
template <class Rule>
class typed_world {
public:
    using value_type = typename Rule::value_type;

    template <int Type>
    struct op {
        int key;
        using result_type = value_type;
    };
    using ops = batch::operations<op<0>, op<1>>;
    template <class T>
    using gen = batch::gen<T, ops>;
    using a_op = op<0>;
    using b_op = op<1>;

    static a_op a(int key) { return {key}; }
    static b_op b(int key) { return {key}; }

    explicit typed_world(Rule r = {}) : rule(std::move(r)) {}
    typed_world(typed_world const&) = delete;
    typed_world& operator=(typed_world const&) = delete;

    /// Batcher calls for `a` (type 0) or `b` (type 1) since the world was made or `new_run`.
    [[nodiscard]] std::size_t calls(int type) const { return calls_[static_cast<std::size_t>(type)]; }
    void new_run() { calls_ = {}; }

    Rule rule;

private:
    template <int Type>
    struct batcher {
        typed_world* world;
        std::vector<batch::outcome<value_type>> operator()(std::span<op<Type> const> in) const {
            ++world->calls_[Type];
            std::vector<int> keys;
            keys.reserve(in.size());
            for (auto const& o : in) keys.push_back(o.key);
            return world->rule.answer(Type, keys, world->ex.stats().rounds);
        }
    };

    std::array<std::size_t, 2> calls_{};

public:
    batch::executor<ops, batcher<0>, batcher<1>> ex = batch::make_executor<ops>(batcher<0>{this}, batcher<1>{this});

    static constexpr char const* name = "typed";
};

namespace dyn = batch::dynamic;

/// The runtime-typed baseline: operations find their batcher at run time, results travel as
/// std::any. The operations a world's `a` and `b` make on a thread go to the batchers of the
/// world made last on that thread (the programs are free functions).
template <class Rule>
class dynamic_world {
public:
    using value_type = typename Rule::value_type;

    class batcher final : public dyn::batcher {
    public:
        batcher(dynamic_world* w, int t) : world_(w), type_(t) {}
        std::vector<std::any> batch(std::span<dyn::operation const* const> in) override;

    private:
        dynamic_world* world_;
        int type_;
    };

    struct op final : dyn::operation_of<value_type> {
        int key;
        batcher* server;
        op(int k, batcher* s) : key(k), server(s) {}
        dyn::batcher& get_batcher() const override { return *server; }
    };
    using a_op = op;
    using b_op = op;
    template <class T>
    using gen = dyn::gen<T>;

    static op a(int key) { return op(key, &current()->batchers_[0]); }
    static op b(int key) { return op(key, &current()->batchers_[1]); }

    explicit dynamic_world(Rule r = {}) : rule(std::move(r)), previous_(std::exchange(current(), this)) {}
    dynamic_world(dynamic_world const&) = delete;
    dynamic_world& operator=(dynamic_world const&) = delete;
    ~dynamic_world() { current() = previous_; }

    [[nodiscard]] std::size_t calls(int type) const { return calls_[static_cast<std::size_t>(type)]; }
    void new_run() { calls_ = {}; }

    Rule rule;
    dyn::executor ex;

    static constexpr char const* name = "dynamic";

private:
    static dynamic_world*& current() {
        thread_local dynamic_world* world = nullptr;
        return world;
    }

    dynamic_world* previous_;
    std::array<batcher, 2> batchers_{batcher(this, 0), batcher(this, 1)};
    std::array<std::size_t, 2> calls_{};
};

template <class Rule>
std::vector<std::any> dynamic_world<Rule>::batcher::batch(std::span<dyn::operation const* const> in) {
    ++world_->calls_[static_cast<std::size_t>(type_)];
    std::vector<int> keys;
    keys.reserve(in.size());
    for (auto const* o : in) keys.push_back(static_cast<op const*>(o)->key);
    auto answers = world_->rule.answer(type_, keys, world_->ex.stats().rounds);
    std::vector<std::any> out;
    out.reserve(answers.size());
    for (auto& a : answers) {
        if (a.has_value()) {
            out.emplace_back(std::move(a).value());
        } else {
            out.emplace_back(a.error());
        }
    }
    return out;
}

/// Both worlds for one rule, for BOOST_AUTO_TEST_CASE_TEMPLATE.
template <class Rule>
using both_worlds = std::tuple<typed_world<Rule>, dynamic_world<Rule>>;

} // namespace test
