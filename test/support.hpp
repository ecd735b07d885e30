#pragma once

// Operations, batchers and probes shared by the tests.

#include <batch/batch.hpp>

#include <boost/hana/tuple.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace test {

namespace hana = boost::hana;

/// Hashes an operation by one of its members:
/// `template <> struct std::hash<lookup> : test::hash_by<&lookup::key> {};`
template <auto Member>
struct hash_by;
template <class Op, class M, M Op::*Member>
struct hash_by<Member> {
    std::size_t operator()(Op const& op) const noexcept { return std::hash<M>{}(op.*Member); }
};

/// `prefix` followed by `i` in decimal ("k17"), built by appending: g++ 12 at -O3 misreports
/// `"k" + std::to_string(i)` with -Wrestrict in some tests (the release preset builds them).
inline std::string numbered(char const* prefix, long long i) { return std::string(prefix).append(std::to_string(i)); }

/// The workloads' `get`: answers `key * 2`.
struct get {
    int key;
    using result_type = int;
};

/// Answers its own argument (the original test's Fibonacci operation).
struct identity {
    int value;
    using result_type = int;
};

/// A write: no result.
struct put {
    int key;
    int value;
    using result_type = void;
};

using ops = batch::operations<get, identity, put>;
template <class T>
using gen = batch::gen<T, ops>;

/// Records every call it gets, so tests can check how operations were grouped.
template <class Op>
struct call_log {
    std::vector<std::vector<Op>> calls;

    void record(std::span<Op const> input) { calls.emplace_back(input.begin(), input.end()); }
};

struct get_batcher {
    std::shared_ptr<call_log<get>> log = std::make_shared<call_log<get>>();

    std::vector<int> operator()(std::span<get const> input) const {
        log->record(input);
        std::vector<int> out;
        for (auto const& op : input) out.push_back(op.key * 2);
        return out;
    }
};

struct identity_batcher {
    std::shared_ptr<call_log<identity>> log = std::make_shared<call_log<identity>>();

    std::vector<int> operator()(std::span<identity const> input) const {
        log->record(input);
        std::vector<int> out;
        for (auto const& op : input) out.push_back(op.value);
        return out;
    }
};

struct put_batcher {
    std::shared_ptr<call_log<put>> log = std::make_shared<call_log<put>>();

    void operator()(std::span<put const> input) const { log->record(input); }
};

inline auto make_test_executor() { return batch::make_executor<ops>(get_batcher{}, identity_batcher{}, put_batcher{}); }

/// Counts live generator frames: a generator that holds one in its body is counted until its
/// frame is destroyed, whichever way that happens.
struct frame_probe {
    static inline int live = 0;
    frame_probe() noexcept { ++live; }
    frame_probe(frame_probe const&) = delete;
    ~frame_probe() { --live; }
};

/// Yields `op` and gives "" when it succeeds, or what its failure says.
template <class Ops, class Op>
batch::gen<std::string, Ops> failure_of(Op op) {
    try {
        co_yield op;
        co_return std::string();
    } catch (std::exception const& e) {
        co_return std::string(e.what());
    }
}

/// The failure the tests throw on purpose.
struct boom : std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace test
