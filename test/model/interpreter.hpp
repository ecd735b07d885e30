#pragma once

// The reference model: a direct interpreter that computes what every node of a program returns
// or throws, in which round it finishes (an operation takes one round; a tuple finishes with
// its last item and throws its first failure in order; a settled tuple counts each failure in
// place), and which operation types are called in each round. A shared generator starts when it
// is first yielded and every later yield waits for that one run, so the model finds each
// entry's start by iterating to a fixed point. The cached type `c` (when the executor caches)
// is answered without a round when a result is visible: stored by a call that ended in an
// earlier or the same round as the asking yield's time, or primed by the root, and not forgotten
// by the root since. Which calls store what depends on which yields hit, so the stores are found
// by the same fixed point.

#include "program.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace model {

struct outcome {
    bool failed = false;
    std::int64_t value = 0; ///< The result, or the failure's code.
    friend bool operator==(outcome const&, outcome const&) = default;
};

/// What a run must give.
struct expected {
    outcome result;
    std::size_t rounds = 0;
    std::size_t calls[3] = {0, 0, 0};
    std::vector<std::optional<outcome>> kept; ///< Per entry: its outcome, if it ran.
    std::map<int, std::int64_t> cache;        ///< The cached results of `c` at the end.
    bool converged = true;
};

class evaluator {
public:
    /// `done`: the entries that finished in an earlier run, with their outcomes; `cache`: the
    /// results of `c` an earlier run left; `caching`: whether the executor caches `c`.
    evaluator(program const& p, std::vector<std::optional<outcome>> done, std::map<int, std::int64_t> cache = {},
              bool caching = true)
        : p_(p), done_(std::move(done)), cache_in_(std::move(cache)), caching_(caching) {
        done_.resize(p.entries.size());
    }

    expected run() {
        std::vector<std::optional<std::size_t>> start(p_.entries.size());
        expected e;
        // Each pass assumes when every entry starts, and sees when each is first yielded; the
        // assumption that sees itself is the real schedule.
        std::set<store> stores;
        for (std::size_t pass = 0;; ++pass) {
            start_ = start;
            assumed_ = stores;
            seen_.assign(p_.entries.size(), std::nullopt);
            outcomes_.assign(p_.entries.size(), std::nullopt);
            ends_.assign(p_.entries.size(), 0);
            calls_.clear();
            stored_.clear();
            root_events_.clear();
            std::size_t t = 0;
            e.result = steps(p_.root->steps, t, true);
            e.rounds = t;
            if (seen_ == start_ && stored_ == assumed_) break;
            if (pass > 2 * p_.entries.size() + 40) {
                e.converged = false;
                break;
            }
            start = seen_;
            stores = stored_;
        }
        for (int key = 0; key < static_cast<int>(c_key_range); ++key) {
            if (auto v = visible(key, e.rounds)) e.cache[key] = *v;
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
    /// A result of `c` stored by a call: visible from the end of `round`.
    struct store {
        int key;
        std::size_t round;
        friend auto operator<=>(store const&, store const&) = default;
    };
    /// What the root did to the cache at time `t`: a prime (stored `value`) or a forget.
    struct root_event {
        int key;
        std::size_t t;
        bool prime;
        std::int64_t value;
    };

    // The result of `c` for `key` visible at time t: the latest store or prime at or before t
    // that no forget of the root has undone since. A forget at t undoes what was stored up to t
    // (the root runs after the round's deliveries); the earlier run's results count as stored at
    // time 0.
    std::optional<std::int64_t> visible(int key, std::size_t t) const {
        // Ordered by (time, then order among the root's events; a store comes first in its round).
        using when_t = std::pair<std::size_t, std::ptrdiff_t>;
        std::optional<std::pair<when_t, std::int64_t>> best;
        auto consider = [&](when_t when, std::int64_t value) {
            if (when.first <= t && (!best || when >= best->first)) best = {when, value};
        };
        if (auto it = cache_in_.find(key); it != cache_in_.end()) consider({0, -1}, it->second);
        for (auto const& s : assumed_) {
            if (s.key == key) consider({s.round, -1}, value_of(2, key));
        }
        for (std::size_t i = 0; i < root_events_.size(); ++i) {
            auto const& ev = root_events_[i];
            if (ev.key == key && ev.prime) consider({ev.t, static_cast<std::ptrdiff_t>(i)}, ev.value);
        }
        if (!best) return std::nullopt;
        for (std::size_t i = 0; i < root_events_.size(); ++i) {
            auto const& ev = root_events_[i];
            when_t const when{ev.t, static_cast<std::ptrdiff_t>(i)};
            if (ev.key == key && !ev.prime && when > best->first && ev.t <= t) return std::nullopt;
        }
        return best->second;
    }

    outcome op(int type, int key, std::size_t& t) {
        if (type == 2 && caching_) {
            if (auto v = visible(key, t)) return {false, *v}; // a hit: no round
        }
        std::size_t const round = t + 1;
        calls_[round].insert(type);
        t = round;
        if (p_.r.call_throws(round, type)) return {true, call_code(round, type)};
        if (p_.r.call_miscounts(round, type)) return {true, miscount_code};
        if (p_.r.fails_alone(key)) return {true, alone_code(key)};
        if (type == 2 && caching_) stored_.insert({key, round});
        return {false, value_of(type, key)};
    }

    // Yields entry i at time t: its kept outcome, or the one run that starts when it is first
    // yielded, finished at max(t, its end).
    outcome join(int i, std::size_t& t) {
        auto const u = static_cast<std::size_t>(i);
        if (done_[u]) return *done_[u];
        if (!seen_[u] || t < *seen_[u]) seen_[u] = t;
        // Evaluated once per pass, when first met (which is within the root's step in which it
        // runs): the cache it sees is the one of that time.
        if (!outcomes_[u]) {
            std::size_t end = start_[u].value_or(t);
            outcomes_[u] = steps(p_.entries[u].body->steps, end);
            ends_[u] = end;
        }
        t = std::max(t, ends_[u]);
        return *outcomes_[u];
    }

    outcome steps(std::vector<step> const& steps, std::size_t& t, bool root = false) {
        std::int64_t sum = 0;
        for (auto const& s : steps) {
            switch (s.kind) {
            case step::prime:
                // A prime keeps a visible result; the executor's prime returns false then.
                if (root && caching_ && !visible(s.key, t))
                    root_events_.push_back({s.key, t, true, prime_value(s.key)});
                break;
            case step::forget:
                if (root && caching_) root_events_.push_back({s.key, t, false, 0});
                break;
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
            case step::parallel:
            case step::settle: {
                bool const settled = s.kind == step::settle;
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
                    if (settled) {
                        total += o.failed ? settled_failure + o.value : o.value;
                        return;
                    }
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
                for (int key : s.c_keys) {
                    std::size_t kt = t;
                    auto const o = op(2, key, kt);
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
    std::map<int, std::int64_t> cache_in_;
    bool caching_;
    std::vector<std::optional<std::size_t>> start_, seen_;
    std::vector<std::optional<outcome>> outcomes_;
    std::vector<std::size_t> ends_; ///< When each entry evaluated in this pass finished.
    std::map<std::size_t, std::set<int>> calls_;
    std::set<store> assumed_, stored_; ///< The stores this pass assumes, and those it makes.
    std::vector<root_event> root_events_;
};

} // namespace model
