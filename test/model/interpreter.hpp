#pragma once

// The reference model: a direct interpreter that computes what every node of a program returns
// or throws, in which round it finishes (an operation takes one round; a tuple finishes with
// its last item and throws its first failure in order), and which operation types are called
// in each round. A shared generator starts when it is first yielded and every later yield
// waits for that one run, so the model finds each entry's start by iterating to a fixed point.

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

} // namespace model
