#pragma once

#include <batch/detail/base/pod_vector.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/detail/run/scheduler.hpp>
#include <batch/error.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch::detail {

/// What a call of a type that never merges operations keeps in place of offsets: nothing.
struct no_offsets {
    [[nodiscard]] static constexpr bool empty() noexcept { return true; }
    static constexpr void clear() noexcept {}
    static constexpr void swap(no_offsets&) noexcept {}
};

/// One batcher call: the operations it passes and where each result goes. It owns both, so it
/// can outlive the round that made it (the call of a generator batcher does). `Op` is the
/// operation type (a pointer to one, for the runtime-typed baseline), `S` the stored result;
/// `Merges` is true for a type whose identical operations are merged (`deduplicate`).
template <class Op, class S, bool Merges = false>
struct batch_call {
    using operation = Op;

    operation_vector<Op> ops;
    pod_vector<target<S>> targets;
    /// Empty unless identical operations were merged: then `ops[i]` answers the targets from
    /// `offsets[i]` up to `offsets[i + 1]`; otherwise `ops[i]` answers `targets[i]`. Nothing
    /// (not even an empty vector to swap and clear each round) when `Merges` is false.
    [[no_unique_address]] std::conditional_t<Merges, std::vector<std::size_t>, no_offsets> offsets;

    [[nodiscard]] std::size_t size() const noexcept { return ops.size(); }
    [[nodiscard]] bool empty() const noexcept { return ops.empty(); }

    /// What the batcher is given.
    [[nodiscard]] std::span<Op const> input() const noexcept { return {ops.data(), ops.size()}; }

    /// Adds one operation and its target; on failure nothing is added.
    template <class O>
    BATCH_HOT void push(O&& op, target<S> t) {
        ops.push_back(std::forward<O>(op));
        try {
            targets.push_back(t);
        } catch (...) {
            ops.pop_back();
            throw;
        }
    }

    /// Drops the operations added after the first `n` (a yield that failed part-way).
    void truncate(std::size_t n) noexcept {
        while (ops.size() > n) ops.pop_back();
        targets.resize(n);
    }

    void clear() noexcept {
        ops.clear();
        targets.clear();
        offsets.clear();
    }

    void swap(batch_call& other) noexcept {
        ops.swap(other.ops);
        targets.swap(other.targets);
        offsets.swap(other.offsets);
    }

    /// Where the results of this call go (a view: cheap to copy, valid while the call lives).
    struct destinations {
        std::span<target<S> const> targets;
        [[no_unique_address]] std::conditional_t<Merges, std::span<std::size_t const>, no_offsets> offsets;

        /// Gives the result of operation `i` to every target it answers: copies for all but the last.
        BATCH_STEP void answer(scheduler& s, std::size_t i, S&& value) const noexcept {
            if constexpr (Merges) {
                if (!offsets.empty()) {
                    std::size_t const last = offsets[i + 1];
                    for (std::size_t k = offsets[i]; k + 1 < last; ++k) {
                        if constexpr (std::copy_constructible<S>) { // merged only when copyable
                            s.deliver(targets[k], S(value));
                        }
                    }
                    if (last > offsets[i]) s.deliver(targets[last - 1], std::move(value));
                    return;
                }
            }
            s.deliver(targets[i], std::move(value));
        }

        /// Fails operation `i` (and every target it answers) with `e`.
        void fail(scheduler& s, std::size_t i, std::exception_ptr const& e) const noexcept {
            if constexpr (Merges) {
                if (!offsets.empty()) {
                    for (std::size_t k = offsets[i]; k < offsets[i + 1]; ++k) s.fail(targets[k], e);
                    return;
                }
            }
            s.fail(targets[i], e);
        }

        /// Fails every target with `e` (the batcher threw, or broke its contract).
        void fail_all(scheduler& s, std::exception_ptr const& e) const noexcept {
            for (auto const& t : targets) s.fail(t, e);
        }
    };

    [[nodiscard]] destinations results_to() const noexcept { return {targets, offsets}; }
};

/// Throws the `batch::batcher_error` of a batcher that gave `results` results for `operations`
/// operations; the message names the batcher as `who` followed by `name` in quotes.
[[noreturn, gnu::noinline, gnu::cold]] inline void throw_result_count(std::size_t results, std::size_t operations,
                                                                      std::string_view who, std::string_view name) {
    throw batcher_error(std::string(who) + " '" + std::string(name) + "' returned " + std::to_string(results)
                        + " results for " + std::to_string(operations)
                        + " operations; it must return one result per operation, in order");
}

/// Throws `batch::batcher_error` unless a batcher gave one result per operation; the message
/// names the batcher as `who` followed by `name` in quotes.
inline void check_result_count(std::size_t results, std::size_t operations, std::string_view who,
                               std::string_view name) {
    if (results != operations) [[unlikely]]
        throw_result_count(results, operations, who, name);
}

} // namespace batch::detail
