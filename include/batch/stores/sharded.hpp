#pragma once

// Shards: one asynchronous batcher per server, and a key's shard chosen by the program. A
// batch is split by shard, each part submitted to its shard's batcher at once (so the servers
// work in parallel), and the answers joined in the order of the operations; a shard that fails
// fails only its own operations.

#include <batch/async_batcher.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch::stores {

/// An asynchronous batcher for `Op` over shards: `shards[i]` (each an asynchronous batcher for
/// `Op`, such as `batch::postgres::lookup` on that server's connection or pool) serves the
/// operations for which `shard_of(op)` is `i`. Each batch is split by shard; every part is
/// submitted at once, and a batch costs about its slowest part. A part that cannot be sent or
/// whose answer fails (its server is down, say) fails its own operations with that error, and
/// the other shards' operations get their results. A `shard_of` out of range fails that
/// operation with `std::out_of_range`.
template <class Op, class Shard, class ShardOf>
class sharded_batcher {
    static_assert(async_batcher_for<Shard, Op>,
                  "batch::stores::sharded: each shard must be an asynchronous batcher for the operation type");
    static_assert(std::is_invocable_r_v<std::size_t, ShardOf const&, Op const&>,
                  "batch::stores::sharded: shard_of(op) must give the shard's index (a std::size_t)");
    using result_t = result_of_t<Op>;
    using part_pending = batch::detail::pending_t<Shard, Op>;

public:
    sharded_batcher(std::vector<Shard> shards, ShardOf shard_of)
        : shards_(std::move(shards)), shard_of_(std::move(shard_of)) {
        if (shards_.empty()) throw std::invalid_argument("batch::stores::sharded: no shards");
    }

    [[nodiscard]] std::size_t size() const noexcept { return shards_.size(); }

    /// One batch: a part per shard, until every part is in.
    class pending {
    public:
        explicit pending(std::size_t n) : results_(n) {}

        [[nodiscard]] io_interest interest() const {
            for (auto const& p : parts_) {
                if (p.pending && !p.pending->done()) return p.pending->interest();
            }
            return {};
        }

        /// The part that is ready advances, and so does every other one (its answer may be in
        /// already): the parts proceed together.
        void advance(short revents) {
            io_interest const ready = interest();
            for (auto& p : parts_) {
                if (!p.pending || p.pending->done()) continue;
                try {
                    p.pending->advance(p.pending->interest().fd == ready.fd ? revents : short(POLLIN | POLLOUT));
                } catch (...) {
                    fail(p, std::current_exception());
                }
            }
        }

        [[nodiscard]] bool done() const {
            for (auto const& p : parts_) {
                if (p.pending && !p.pending->done()) return false;
            }
            return true;
        }

        std::vector<outcome<result_t>> results() {
            for (auto& p : parts_) {
                if (!p.pending) continue;
                try {
                    auto answers = p.pending->results();
                    if (static_cast<std::size_t>(std::ranges::size(answers)) != p.indexes.size()) {
                        throw std::runtime_error("batch::stores::sharded: a shard gave "
                                                 + std::to_string(std::ranges::size(answers)) + " results for "
                                                 + std::to_string(p.indexes.size()) + " operations");
                    }
                    auto it = std::ranges::begin(answers);
                    for (std::size_t i : p.indexes) results_[i].emplace(std::move(*it++));
                } catch (...) {
                    auto const e = std::current_exception();
                    for (std::size_t i : p.indexes) results_[i].emplace(e);
                }
            }
            std::vector<outcome<result_t>> out;
            out.reserve(results_.size());
            for (auto& r : results_) out.push_back(std::move(*r));
            return out;
        }

        void cancel() {
            for (auto& p : parts_) {
                if (p.pending) batch::detail::cancel(*p.pending);
            }
        }

    private:
        friend class sharded_batcher;

        struct part {
            std::unique_ptr<std::vector<Op>> ops; ///< Its operations, kept for the shard's span.
            std::vector<std::size_t> indexes;     ///< Where each goes in the batch.
            std::optional<part_pending> pending;  ///< Empty once the part has failed.
        };

        void fail(part& p, std::exception_ptr const& e) {
            if (p.pending) batch::detail::cancel(*p.pending);
            p.pending.reset();
            for (std::size_t i : p.indexes) results_[i].emplace(e);
        }

        std::vector<part> parts_;
        std::vector<std::optional<outcome<result_t>>> results_;
    };

    pending submit(std::span<Op const> ops) const {
        pending out(ops.size());
        std::vector<typename pending::part> parts(shards_.size());
        for (std::size_t i = 0; i < ops.size(); ++i) {
            std::size_t const s = std::invoke(shard_of_, ops[i]);
            if (s >= shards_.size()) {
                out.results_[i].emplace(std::make_exception_ptr(
                    std::out_of_range("batch::stores::sharded: shard_of gave shard " + std::to_string(s) + " of "
                                      + std::to_string(shards_.size()))));
                continue;
            }
            auto& p = parts[s];
            if (!p.ops) p.ops = std::make_unique<std::vector<Op>>();
            p.ops->push_back(ops[i]);
            p.indexes.push_back(i);
        }
        for (std::size_t s = 0; s < parts.size(); ++s) {
            auto& p = parts[s];
            if (!p.ops) continue;
            try {
                p.pending.emplace(shards_[s].submit(std::span<Op const>(*p.ops)));
            } catch (...) {
                auto const e = std::current_exception();
                for (std::size_t i : p.indexes) out.results_[i].emplace(e);
                continue;
            }
            out.parts_.push_back(std::move(p));
        }
        return out;
    }

    /// The longest time a batch may take: the shards' longest `timeout()`, if they have one.
    [[nodiscard]] std::chrono::steady_clock::duration timeout() const {
        auto longest = std::chrono::steady_clock::duration::zero();
        for (auto const& s : shards_) longest = std::max(longest, batch::detail::timeout_of(s));
        return longest;
    }

private:
    std::vector<Shard> shards_;
    ShardOf shard_of_;
};

/// A batcher over shards (see `sharded_batcher`): `shards` one asynchronous batcher per server,
/// `shard_of(op)` the index of the shard that holds `op`'s key.
template <class Op, class Shard, class ShardOf>
[[nodiscard]] sharded_batcher<Op, Shard, ShardOf> sharded(std::vector<Shard> shards, ShardOf shard_of) {
    return {std::move(shards), std::move(shard_of)};
}

} // namespace batch::stores
