#pragma once

#include <batch/detail/run/batch_call.hpp>
#include <batch/operation.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace batch::detail {

/// Calls `each(batch_call&&)` once per distinct `batch_key` among the operations of `call`,
/// in the order each key first appeared. A call whose operations share one key is passed on
/// whole. Keys are found through `std::hash` when the key type has one, else by `==` alone.
template <keyed_operation Op, class S, bool Merges, class Each>
void split_by_key(batch_call<Op, S, Merges>&& call, Each&& each) {
    using key_t = std::decay_t<decltype(key_of(std::declval<Op const&>()))>;
    constexpr bool hashable = requires(key_t const& k) {
        { std::hash<key_t>{}(k) } -> std::convertible_to<std::size_t>;
    };
    auto& ops = call.ops;
    std::vector<key_t> keys;
    std::vector<std::size_t> group(ops.size());
    [[maybe_unused]] std::conditional_t<hashable, std::unordered_map<key_t, std::size_t>, std::monostate> index;
    for (std::size_t i = 0; i < ops.size(); ++i) {
        key_t key = key_of(ops[i]);
        std::size_t g = keys.size();
        if constexpr (hashable) {
            g = index.try_emplace(key, keys.size()).first->second;
        } else {
            for (std::size_t k = 0; k < keys.size(); ++k) {
                if (keys[k] == key) {
                    g = k;
                    break;
                }
            }
        }
        if (g == keys.size()) keys.push_back(std::move(key));
        group[i] = g;
    }
    if (keys.size() <= 1) {
        each(std::move(call));
        return;
    }
    for (std::size_t g = 0; g < keys.size(); ++g) {
        batch_call<Op, S, Merges> part;
        for (std::size_t i = 0; i < ops.size(); ++i) {
            if (group[i] != g) continue;
            part.ops.push_back(std::move(ops[i]));
            part.targets.push_back(call.targets[i]);
        }
        each(std::move(part));
    }
}

/// Calls `each(batch_call&&)` for consecutive chunks of `call` holding at most `limit`
/// operations (0: no limit), in order; a call within the limit is passed on whole.
template <class Op, class S, bool Merges, class Each>
void split_into_chunks(batch_call<Op, S, Merges>&& call, std::size_t limit, Each&& each) {
    if (limit == 0 || call.size() <= limit) {
        each(std::move(call));
        return;
    }
    auto const at = [](auto& v, std::size_t i) { return v.begin() + static_cast<std::ptrdiff_t>(i); };
    for (std::size_t lo = 0; lo < call.size(); lo += limit) {
        std::size_t const hi = std::min(call.size(), lo + limit);
        batch_call<Op, S, Merges> chunk;
        // Constructed, not assigned: operation types need not be assignable.
        chunk.ops.reserve(hi - lo);
        for (std::size_t i = lo; i < hi; ++i) chunk.ops.push_back(std::move(call.ops[i]));
        std::size_t first_target = lo;
        std::size_t end_target = hi;
        if constexpr (Merges) {
            if (!call.offsets.empty()) {
                first_target = call.offsets[lo];
                end_target = call.offsets[hi];
                for (std::size_t u = lo; u <= hi; ++u) chunk.offsets.push_back(call.offsets[u] - call.offsets[lo]);
            }
        }
        chunk.targets.assign(at(call.targets, first_target), at(call.targets, end_target));
        each(std::move(chunk));
    }
}

} // namespace batch::detail
