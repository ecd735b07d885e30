#pragma once

#include <batch/detail/run/batch_call.hpp>
#include <batch/operation.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace batch::detail {

/// Working space for merging identical operations, kept by a bucket to reuse its capacity.
struct merge_space {
    std::vector<std::size_t> table; ///< Open addressing: 1 + index into `first`, or 0.
    std::vector<std::size_t> which; ///< For each operation, its distinct value.
    std::vector<std::size_t> first; ///< For each distinct value, its first operation.
    std::vector<std::size_t> fill;
};

/// Merges identical operations of `call` (equal by `==`, hashed by `batch::operation_hash<Op>`) in place:
/// each distinct operation is passed to the batcher once, in the order it first appeared, and
/// its result goes to every target that asked for it. Returns how many operations were merged
/// away; when none were, `call` is left as it was and nothing is allocated.
template <class Op, class S>
std::size_t merge_identical(batch_call<Op, S, true>& call, merge_space& space) {
    auto& ops = call.ops;
    std::size_t const n = ops.size();
    std::size_t const capacity = std::bit_ceil(std::max<std::size_t>(16, 2 * n));
    space.table.assign(capacity, 0);
    space.which.resize(n);
    space.first.clear();
    auto& which = space.which;
    auto& first = space.first;
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t h = operation_hash<Op>{}(ops[i]) & (capacity - 1);; h = (h + 1) & (capacity - 1)) {
            std::size_t const entry = space.table[h];
            if (entry == 0) {
                first.push_back(i);
                space.table[h] = first.size();
                which[i] = first.size() - 1;
                break;
            }
            if (ops[first[entry - 1]] == ops[i]) {
                which[i] = entry - 1;
                break;
            }
        }
    }
    std::size_t const merged = n - first.size();
    if (merged == 0) return 0;

    // Targets ordered by distinct operation: offsets[u] is where operation u's targets begin.
    auto& offsets = call.offsets;
    offsets.assign(first.size() + 1, 0);
    for (std::size_t u : which) ++offsets[u + 1];
    for (std::size_t u = 0; u < first.size(); ++u) offsets[u + 1] += offsets[u];
    pod_vector<target<S>> ordered;
    ordered.resize(call.targets.size());
    space.fill.assign(offsets.begin(), offsets.end() - 1);
    for (std::size_t i = 0; i < n; ++i) ordered[space.fill[which[i]]++] = call.targets[i];
    decltype(call.ops) distinct;
    distinct.reserve(first.size());
    for (std::size_t i : first) distinct.push_back(std::move(ops[i]));
    ops = std::move(distinct);
    call.targets = std::move(ordered);
    return merged;
}

} // namespace batch::detail
