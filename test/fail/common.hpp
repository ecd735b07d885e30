#pragma once

// The operations the compile-fail cases share.

#include <batch/batch.hpp>

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

struct get {
    int key;
    using result_type = int;
};
struct put {
    int key;
    using result_type = void;
};
struct elsewhere {
    int key;
    using result_type = int;
};
using ops = batch::operations<get, put>;
using other_ops = batch::operations<get, elsewhere>;

inline std::vector<int> serve_get(std::span<get const> in) { return std::vector<int>(in.size()); }
inline void serve_put(std::span<put const>) {}
inline std::vector<int> serve_elsewhere(std::span<elsewhere const> in) { return std::vector<int>(in.size()); }

/// Hashes an operation by its `id`: `template <> struct std::hash<Op> : hash_by_id<Op> {};`
template <class Op>
struct hash_by_id {
    std::size_t operator()(Op const& op) const noexcept { return std::hash<int>{}(op.id); }
};

/// Runs `op` on an executor for the one-operation set of its type, with a batcher of zeros.
template <class Op>
int run_alone(Op op) {
    auto ex =
        batch::make_executor<batch::operations<Op>>([](std::span<Op const> in) { return std::vector<int>(in.size()); });
    return ex.run(std::move(op));
}
