#pragma once

// The same programs, written once, run against both executors. A world supplies the generator
// type, three operation types made by `W::a(key)`, `W::b(key)` and `W::c(key)` (`c` is cached
// in the typed worlds: `W::caches`, `w.prime(key, v)`, `w.forget(key)`), and an executor `ex` whose
// batchers count their calls and answer through a rule, which decides what every operation
// gives:
//
//   struct some_rule {
//       using value_type = ...; // what an operation gives
//       std::vector<batch::outcome<value_type>> answer(int type, std::span<int const> keys,
//                                                      std::size_t round) const;
//   };
//
// `type` is 0 for `a`, 1 for `b` and 2 for `c`; `round` is the executor's round. A rule may throw to fail
// the whole call, fail single operations through their outcomes, or return the wrong number
// of results to break the batcher's contract. The tests' rules: `doubling` here, the failure
// injection of failure_paths_test and the random programs' rules of model/.
//
// Three worlds: `typed_world` (plain batchers), `async_world` (the same, but the batcher of `a`
// is asynchronous: its batches wait on a pipe, advance a step at a time, and may time out) and
// `dynamic_world` (the runtime-typed baseline). In the asynchronous world a rule may also have
// `on_advance()` and `on_results()`, called at each step of a batch and before its results
// are taken (to fail there), `stalls()`, asked when a batch is submitted (true: one step never
// comes), and `timeout()`.

#include <batch/batch.hpp>
#include <batch/dynamic/executor.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <any>
#include <array>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <span>
#include <stdexcept>
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

/// An asynchronous batch answered through a pipe: its answers are computed when it is
/// submitted, and the pipe holds one byte per step; each advance reads one, and the batch is
/// done after `steps` of them. So it goes through poll(2) and advance() as a batch over a
/// socket does, with no thread and no timing.
template <class Value, class Rule>
class piped_batch {
public:
    piped_batch(std::vector<batch::outcome<Value>> answers, int steps, Rule const* rule)
        : answers_(std::move(answers)), steps_(steps), rule_(rule) {
        if (::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        int written = steps;
        if constexpr (requires { rule->stalls(); }) {
            if (rule->stalls()) --written; // one step never comes: the batch waits for its deadline
        }
        std::vector<char> const bytes(static_cast<std::size_t>(written), 'x');
        if (::write(fds_[1], bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
            close();
            throw std::runtime_error("write to a pipe failed");
        }
    }
    piped_batch(piped_batch&& o) noexcept
        : answers_(std::move(o.answers_)), steps_(o.steps_), taken_(o.taken_),
          rule_(o.rule_), fds_{std::exchange(o.fds_[0], -1), std::exchange(o.fds_[1], -1)} {}
    piped_batch& operator=(piped_batch&& o) noexcept {
        if (this != &o) {
            close();
            answers_ = std::move(o.answers_);
            steps_ = o.steps_;
            taken_ = o.taken_;
            rule_ = o.rule_;
            fds_[0] = std::exchange(o.fds_[0], -1);
            fds_[1] = std::exchange(o.fds_[1], -1);
        }
        return *this;
    }
    ~piped_batch() { close(); }

    [[nodiscard]] batch::io_interest interest() const { return {fds_[0], POLLIN}; }

    void advance(short) {
        if constexpr (requires { rule_->on_advance(); }) rule_->on_advance();
        char c;
        if (::read(fds_[0], &c, 1) == 1) ++taken_;
    }

    [[nodiscard]] bool done() const { return taken_ == steps_; }

    std::vector<batch::outcome<Value>> results() {
        if constexpr (requires { rule_->on_results(); }) rule_->on_results();
        return std::move(answers_);
    }

private:
    void close() noexcept {
        for (int& fd : fds_) {
            if (fd >= 0) ::close(fd);
            fd = -1;
        }
    }

    std::vector<batch::outcome<Value>> answers_;
    int steps_;
    int taken_ = 0;
    Rule const* rule_;
    int fds_[2] = {-1, -1};
};

/// The operations of the typed world: `a` (type 0), `b` (1) and the cached `c` (2).
template <int Type, class Value>
struct world_op {
    int key;
    using result_type = Value;
    static constexpr bool cacheable = Type == 2;
    bool operator==(world_op const&) const = default;
};

} // namespace test

template <int Type, class Value>
struct std::hash<test::world_op<Type, Value>> {
    std::size_t operator()(test::world_op<Type, Value> const& op) const noexcept { return std::hash<int>{}(op.key); }
};

namespace test {

/// The typed library: batch::make_executor over three statically typed operations, the third
/// (`c`) cached; with `AsyncA`, the batcher of `a` is asynchronous.
template <class Rule, bool AsyncA = false>
class typed_world {
public:
    using value_type = typename Rule::value_type;

    template <int Type>
    using op = world_op<Type, value_type>;
    using ops = batch::operations<op<0>, op<1>, op<2>>;
    template <class T>
    using gen = batch::gen<T, ops>;
    using a_op = op<0>;
    using b_op = op<1>;
    using c_op = op<2>;

    static a_op a(int key) { return {key}; }
    static b_op b(int key) { return {key}; }
    static c_op c(int key) { return {key}; }

    /// The cache of `c`: primes (unless a result is kept) and forgets one key.
    static constexpr bool caches = true;
    bool prime(int key, value_type v) { return ex.prime(c(key), std::move(v)); }
    bool forget(int key) { return ex.forget(c(key)); }

    explicit typed_world(Rule r = {}) : rule(std::move(r)) {}
    typed_world(typed_world const&) = delete;
    typed_world& operator=(typed_world const&) = delete;

    /// Batcher calls for `a` (type 0), `b` (1) or `c` (2) since the world was made or `new_run`.
    [[nodiscard]] std::size_t calls(int type) const { return calls_[static_cast<std::size_t>(type)]; }
    void new_run() { calls_ = {}; }

    Rule rule;

    /// Steps each asynchronous batch takes.
    static constexpr int steps = 2;

private:
    template <int Type>
    std::vector<batch::outcome<value_type>> answer(std::span<op<Type> const> in) {
        ++calls_[Type];
        std::vector<int> keys;
        keys.reserve(in.size());
        for (auto const& o : in) keys.push_back(o.key);
        return rule.answer(Type, keys, ex.stats().rounds);
    }

    template <int Type>
    struct batcher {
        typed_world* world;
        std::vector<batch::outcome<value_type>> operator()(std::span<op<Type> const> in) const {
            return world->template answer<Type>(in);
        }
    };

    struct async_batcher {
        typed_world* world;
        piped_batch<value_type, Rule> submit(std::span<a_op const> in) const {
            return {world->template answer<0>(in), steps, &world->rule};
        }
        [[nodiscard]] std::chrono::milliseconds timeout() const {
            if constexpr (requires { world->rule.timeout(); }) {
                return world->rule.timeout();
            } else {
                return {};
            }
        }
    };

    using a_batcher = std::conditional_t<AsyncA, async_batcher, batcher<0>>;

    std::array<std::size_t, 3> calls_{};

public:
    batch::executor<ops, a_batcher, batcher<1>, batcher<2>> ex =
        batch::make_executor<ops>(a_batcher{this}, batcher<1>{this}, batcher<2>{this});

    static constexpr char const* name = AsyncA ? "async" : "typed";
};

/// The typed library with an asynchronous batcher for `a` and a plain one for `b`.
template <class Rule>
using async_world = typed_world<Rule, true>;

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
    using c_op = op;
    template <class T>
    using gen = dyn::gen<T>;

    static op a(int key) { return op(key, &current()->batchers_[0]); }
    static op b(int key) { return op(key, &current()->batchers_[1]); }
    static op c(int key) { return op(key, &current()->batchers_[2]); }

    /// The baseline keeps no cache: `c` is an operation like the others.
    static constexpr bool caches = false;
    bool prime(int, value_type const&) { return false; }
    bool forget(int) { return false; }

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
    std::array<batcher, 3> batchers_{batcher(this, 0), batcher(this, 1), batcher(this, 2)};
    std::array<std::size_t, 3> calls_{};
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

/// Both executors for one rule, for BOOST_AUTO_TEST_CASE_TEMPLATE.
template <class Rule>
using both_worlds = std::tuple<typed_world<Rule>, dynamic_world<Rule>>;

/// Every world for one rule: both executors, and the typed one with an asynchronous batcher.
template <class Rule>
using all_worlds = std::tuple<typed_world<Rule>, async_world<Rule>, dynamic_world<Rule>>;

} // namespace test
