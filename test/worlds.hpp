#pragma once

// The same programs, written once, run against both executors: each "world" supplies the
// generator type, the operations and an executor whose batchers count their calls.

#include "support.hpp"

#include <batch/dynamic/executor.hpp>

#include <any>
#include <memory>
#include <span>
#include <vector>

namespace test {

/// The typed library: batch::make_executor over test::ops.
struct typed_world {
    template <class T>
    using gen = test::gen<T>;
    using get_op = get;
    using identity_op = identity;

    static get_op make_get(int k) { return get_op{k}; }
    static identity_op make_identity(int v) { return identity_op{v}; }

    get_batcher gets;
    identity_batcher identities;
    batch::executor<ops, get_batcher, identity_batcher, put_batcher> ex =
        batch::make_executor<ops>(gets, identities, put_batcher{});

    std::size_t get_calls() const { return gets.log->calls.size(); }
};

namespace dyn = batch::dynamic;

/// Answers `key * 2` (or the value itself, for identity) through std::any.
struct counting_dynamic_batcher final : dyn::batcher {
    int factor;
    std::size_t calls = 0;
    explicit counting_dynamic_batcher(int f) : factor(f) {}
    std::vector<std::any> batch(std::span<dyn::operation const* const> ops) override;
};

struct dynamic_get final : dyn::operation_of<int> {
    int key;
    counting_dynamic_batcher* server;
    dynamic_get(int k, counting_dynamic_batcher* s) : key(k), server(s) {}
    dyn::batcher& get_batcher() const override { return *server; }
};

inline std::vector<std::any> counting_dynamic_batcher::batch(std::span<dyn::operation const* const> ops) {
    ++calls;
    std::vector<std::any> out;
    out.reserve(ops.size());
    for (auto const* op : ops) out.emplace_back(static_cast<dynamic_get const*>(op)->key * factor);
    return out;
}

/// The runtime-typed baseline: batch::dynamic::executor.
struct dynamic_world {
    template <class T>
    using gen = dyn::gen<T>;
    using get_op = dynamic_get;
    using identity_op = dynamic_get;

    // The programs are free functions, so the batchers they name live per thread.
    static counting_dynamic_batcher& gets() {
        thread_local counting_dynamic_batcher b(2);
        return b;
    }
    static counting_dynamic_batcher& identities() {
        thread_local counting_dynamic_batcher b(1);
        return b;
    }
    static get_op make_get(int k) { return get_op{k, &gets()}; }
    static identity_op make_identity(int v) { return identity_op{v, &identities()}; }

    dyn::executor ex;
    std::size_t first_calls = gets().calls;

    std::size_t get_calls() const { return gets().calls - first_calls; }
};

} // namespace test
