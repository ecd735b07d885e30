#pragma once

// Redis Cluster (target batch::redis): the slot map of a cluster, a connection per master, and
// a GET batcher that splits each batch by master, sends the parts in parallel, and joins their
// answers in order, following MOVED and ASK redirections and retrying a part whose master was
// lost once, after reading the slot map again.

#include <batch/async_batcher.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>
#include <batch/stores/detail/pipeline.hpp>
#include <batch/stores/reconnection.hpp>
#include <batch/stores/redis/batchers.hpp>
#include <batch/stores/redis/connection.hpp>
#include <batch/stores/redis/reply.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace batch::redis {

/// The CRC16 of Redis Cluster (XMODEM: polynomial 0x1021, initial value 0).
[[nodiscard]] constexpr std::uint16_t crc16(std::string_view bytes) noexcept {
    std::uint16_t crc = 0;
    for (char ch : bytes) {
        crc = static_cast<std::uint16_t>(crc ^ (static_cast<std::uint16_t>(static_cast<unsigned char>(ch)) << 8));
        for (int bit = 0; bit < 8; ++bit) {
            crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
        }
    }
    return crc;
}

/// Slots of a Redis Cluster.
inline constexpr std::size_t cluster_slots = 16384;

/// The slot of `key`: the CRC16 of its hash tag (what is between the first `{` and the next
/// `}`, when that is not empty) or of the whole key, modulo 16384.
[[nodiscard]] constexpr std::uint16_t slot_of(std::string_view key) noexcept {
    if (auto const open = key.find('{'); open != std::string_view::npos) {
        if (auto const close = key.find('}', open + 1); close != std::string_view::npos && close > open + 1) {
            key = key.substr(open + 1, close - open - 1);
        }
    }
    return static_cast<std::uint16_t>(crc16(key) % cluster_slots);
}

namespace detail {

/// The slot map and connections behind the `cluster` handles (see there).
class cluster_map {
public:
    explicit cluster_map(std::string_view nodes, reconnection policy = {}) : policy_(policy) {
        for (std::size_t at = 0; at <= nodes.size();) {
            auto const comma = std::min(nodes.find(',', at), nodes.size());
            if (comma > at) seeds_.emplace_back(nodes.substr(at, comma - at));
            at = comma + 1;
        }
        if (seeds_.empty()) throw error("batch::redis::cluster: no node address given");
        refresh();
    }

    cluster_map(cluster_map const&) = delete;
    cluster_map& operator=(cluster_map const&) = delete;

    [[nodiscard]] connection& master_of(std::uint16_t slot) { return at(address_of(slot)); }

    [[nodiscard]] std::string const& address_of(std::uint16_t slot) {
        if (stale_) refresh();
        auto const node = slot_node_[slot];
        if (node < 0) throw connection_lost("batch::redis::cluster: no node serves slot " + std::to_string(slot));
        return masters_[static_cast<std::size_t>(node)];
    }

    [[nodiscard]] connection& at(std::string const& address) {
        for (auto& [where, c] : connections_) {
            if (where == address) return *c;
        }
        connections_.emplace_back(address, std::make_unique<connection>(address, policy_));
        return *connections_.back().second;
    }

    void moved(std::uint16_t slot, std::string const& address) {
        std::size_t i = 0;
        while (i < masters_.size() && masters_[i] != address) ++i;
        if (i == masters_.size()) masters_.push_back(address);
        slot_node_[slot] = static_cast<int>(i);
    }

    void mark_stale() noexcept { stale_ = true; }

    void refresh() {
        std::vector<std::string> candidates = seeds_;
        for (auto const& m : masters_) candidates.push_back(m);
        std::string why;
        for (auto const& address : candidates) {
            try {
                read_map(address);
                stale_ = false;
                ++refreshes_;
                return;
            } catch (error const& e) {
                why = e.what();
            }
        }
        throw connection_lost("batch::redis::cluster: no node answered CLUSTER SLOTS (last: " + why + ")");
    }

    [[nodiscard]] std::vector<std::string> const& masters() const noexcept { return masters_; }

    [[nodiscard]] std::size_t refreshes() const noexcept { return refreshes_; }

private:
    void read_map(std::string const& address) {
        auto const colon = address.rfind(':');
        std::string const host = address.substr(0, colon);
        int port = 0;
        std::from_chars(address.data() + colon + 1, address.data() + address.size(), port);
        timeval const timeout{1, 0};
        std::unique_ptr<redisContext, context_deleter> c(redisConnectWithTimeout(host.c_str(), port, timeout));
        if (!c || c->err) throw error("batch::redis::cluster: cannot connect to " + address);
        redisSetTimeout(c.get(), timeout);
        reply_ptr r(static_cast<redisReply*>(redisCommand(c.get(), "CLUSTER SLOTS")));
        if (!r) throw error("batch::redis::cluster: " + address + " did not answer CLUSTER SLOTS");
        reply const all(r.get());
        if (all.is_error()) throw error("batch::redis::cluster: " + address + ": " + std::string(all.text()));
        std::array<int, cluster_slots> slots;
        slots.fill(-1);
        std::vector<std::string> masters;
        for (std::size_t i = 0; i < all.size(); ++i) {
            reply const range = all[i];
            if (range.size() < 3) continue;
            reply const master = range[2];
            if (master.size() < 2) continue;
            std::string const where = std::string(master[0].text()) + ":" + std::to_string(master[1].integer());
            std::size_t m = 0;
            while (m < masters.size() && masters[m] != where) ++m;
            if (m == masters.size()) masters.push_back(where);
            for (long long s = range[0].integer(); s <= range[1].integer() && s < long(cluster_slots); ++s) {
                slots[static_cast<std::size_t>(s)] = static_cast<int>(m);
            }
        }
        if (masters.empty()) throw error("batch::redis::cluster: " + address + " serves no slots");
        slot_node_ = slots;
        masters_ = std::move(masters);
    }

    reconnection policy_;
    std::vector<std::string> seeds_;
    std::vector<std::string> masters_;
    std::array<int, cluster_slots> slot_node_{};
    std::vector<std::pair<std::string, std::unique_ptr<connection>>> connections_;
    bool stale_ = false;
    std::size_t refreshes_ = 0;
};

} // namespace detail

/// A Redis Cluster as its clients see it: which master serves each slot (read with
/// `CLUSTER SLOTS` from any node that answers), and one `connection` per master, opened when
/// first needed. The map is read when the cluster is made, again after a master was lost (on
/// the next batch), and a slot moves when a node says so (MOVED). Shared by any number of
/// batchers. A handle, as a `connection` is: copies share one map and its connections, and
/// each batcher built from it holds a copy. Reading the map blocks the thread (briefly, on 127.0.0.1).
class cluster {
public:
    /// `nodes`: "host:port" of one or more nodes, separated by commas.
    explicit cluster(std::string_view nodes, reconnection policy = {})
        : s_(std::make_shared<detail::cluster_map>(nodes, policy)) {}
    cluster(cluster const&) = default; // a move copies: a handle is never empty
    cluster& operator=(cluster const&) = default;

    /// The connection to the master serving `slot` (reading the map first if it is stale).
    [[nodiscard]] connection& master_of(std::uint16_t slot) const { return s_->master_of(slot); }

    /// The address ("host:port") of the master serving `slot`, as the map says.
    [[nodiscard]] std::string const& address_of(std::uint16_t slot) const { return s_->address_of(slot); }

    /// The connection to the node at "host:port" (opened if need be).
    [[nodiscard]] connection& at(std::string const& address) const { return s_->at(address); }

    /// A node said that `slot` has moved to "host:port" (MOVED): later batches go there.
    void moved(std::uint16_t slot, std::string const& address) const { s_->moved(slot, address); }

    /// A master was lost: the map is read again before the next batch.
    void mark_stale() const noexcept { s_->mark_stale(); }

    /// Reads the slot map from the first node that answers; throws `connection_lost` if none does.
    void refresh() const { s_->refresh(); }

    /// The masters in the map, as "host:port".
    [[nodiscard]] std::vector<std::string> const& masters() const noexcept { return s_->masters(); }

    /// How many times the map was read.
    [[nodiscard]] std::size_t refreshes() const noexcept { return s_->refreshes(); }

private:
    std::shared_ptr<detail::cluster_map> s_;
};

/// Gets string values from a Redis Cluster: each batch is split by the master that serves each
/// key's slot, one pipeline of GETs per master, all sent at once; the answers are joined in the
/// order of the operations. A MOVED reply sends that key again to the node named (and remembers
/// it), an ASK reply sends it once to the node named after ASKING; a part whose master was lost
/// is sent once more after the slot map is read again, and fails with
/// `batch::redis::connection_lost` if that fails too. Results as `get_batcher`'s.
template <class Op, class KeyOf, class Decode = as_string>
class cluster_get_batcher : public stores::detail::timeout_option<cluster_get_batcher<Op, KeyOf, Decode>> {
    using result_t = result_of_t<Op>;

public:
    cluster_get_batcher(cluster c, KeyOf key_of, Decode decode = {})
        : cluster_(std::move(c)), key_of_(std::move(key_of)), decode_(std::move(decode)) {}

    /// The store, as observers and traces show it.
    [[nodiscard]] static constexpr std::string_view name() noexcept { return "redis-cluster"; }

    /// One batch: its parts, one per node, until every operation has its answer.
    class pending {
    public:
        pending(cluster_get_batcher const* b, std::span<Op const> ops) : batcher_(b), results_(ops.size()) {
            keys_.reserve(ops.size());
            for (auto const& op : ops) keys_.push_back(detail::key_text(std::invoke(b->key_of_, op)));
            std::vector<std::size_t> all(ops.size());
            for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
            send(all, {});
        }

        [[nodiscard]] io_interest interest() const {
            absorb();
            for (auto const& p : parts_) {
                if (!p.node->answered(p.number)) {
                    io_interest want = p.node->interest();
                    want.answer = p.number;
                    return want;
                }
            }
            return {};
        }

        /// The node that is ready advances, and so does every other node of the batch (its
        /// answer may be in already): the parts proceed in parallel.
        void advance(short revents) {
            bool first = true;
            for (auto const& p : parts_) {
                if (p.node->answered(p.number)) continue;
                p.node->pump(first ? revents : short(POLLIN | POLLOUT));
                first = false;
            }
            absorb();
        }

        [[nodiscard]] bool done() const {
            absorb();
            return left_ == 0;
        }

        std::vector<outcome<result_t>> results() {
            absorb();
            std::vector<outcome<result_t>> out;
            out.reserve(results_.size());
            for (auto& r : results_) out.push_back(std::move(*r));
            return out;
        }

        void cancel() {
            for (auto const& p : parts_) p.node->abandon(p.number);
            parts_.clear();
        }

    private:
        /// The operations of one node sent as one pipeline.
        struct part {
            connection* node;
            std::uint64_t number;
            std::vector<std::size_t> ops;
            std::string asked; ///< The node named by ASK, for a part sent there.
        };

        // Sends `ops` (indexes), each to its slot's master, or all to `ask` after ASKING.
        void send(std::vector<std::size_t> const& ops, std::string const& ask) const {
            std::vector<std::pair<connection*, std::vector<std::size_t>>> by_node;
            for (std::size_t i : ops) {
                connection* c = nullptr;
                try {
                    c = ask.empty() ? &batcher_->cluster_.master_of(slot_of(keys_[i])) : &batcher_->cluster_.at(ask);
                } catch (...) {
                    settle(i, std::current_exception());
                    continue;
                }
                auto it = std::find_if(by_node.begin(), by_node.end(), [&](auto const& n) { return n.first == c; });
                if (it == by_node.end()) it = by_node.insert(by_node.end(), {c, {}});
                it->second.push_back(i);
            }
            for (auto& [c, indexes] : by_node) {
                std::vector<std::vector<std::string>> commands;
                for (std::size_t i : indexes) {
                    if (!ask.empty()) commands.push_back({"ASKING"});
                    commands.push_back({"GET", keys_[i]});
                }
                try {
                    parts_.push_back({c, c->send(commands), std::move(indexes), ask});
                    left_ += parts_.back().ops.size();
                } catch (...) {
                    auto const e = std::current_exception();
                    lost(indexes, e);
                }
            }
        }

        // What came in is filed; what was redirected or lost is sent again.
        void absorb() const {
            for (std::size_t k = 0; k < parts_.size();) {
                part& p = parts_[k];
                if (!p.node->answered(p.number)) {
                    ++k;
                    continue;
                }
                part done = std::move(p);
                parts_.erase(parts_.begin() + static_cast<std::ptrdiff_t>(k));
                left_ -= done.ops.size();
                take(done);
            }
        }

        void take(part& p) const {
            std::vector<detail::reply_ptr> replies;
            try {
                replies = p.node->take(p.number);
            } catch (connection_lost const&) {
                lost(p.ops, std::current_exception());
                return;
            } catch (...) {
                for (std::size_t i : p.ops) settle(i, std::current_exception());
                return;
            }
            std::size_t const stride = p.asked.empty() ? 1 : 2; // ASKING's reply comes first
            std::vector<std::size_t> moved;
            std::vector<std::pair<std::size_t, std::string>> asked;
            for (std::size_t j = 0; j < p.ops.size(); ++j) {
                std::size_t const i = p.ops[j];
                reply const r(replies.at(j * stride + stride - 1).get());
                if (r.is_error()) {
                    std::string_view const text = r.text();
                    if (text.rfind("MOVED ", 0) == 0 && redirections_[i]++ < 5) {
                        batcher_->cluster_.moved(slot_of(keys_[i]), std::string(text.substr(text.rfind(' ') + 1)));
                        moved.push_back(i);
                        continue;
                    }
                    if (text.rfind("ASK ", 0) == 0 && redirections_[i]++ < 5) {
                        asked.emplace_back(i, std::string(text.substr(text.rfind(' ') + 1)));
                        continue;
                    }
                    settle(i, std::make_exception_ptr(error("batch::redis: " + std::string(text))));
                    continue;
                }
                if (r.is_nil()) {
                    results_[i].emplace(
                        stores::detail::missing<result_t, not_found>("batch::redis", "nothing at key", keys_[i]));
                    continue;
                }
                results_[i].emplace(stores::detail::decoded<result_t, error>(
                    "batch::redis", [&] { return keys_[i]; },
                    [&] { return std::invoke(batcher_->decode_, r.text()); }));
            }
            if (!moved.empty()) send(moved, {});
            for (auto const& [i, where] : asked) send({i}, where);
        }

        // A node was lost with these operations in flight: once, they go again after the slot
        // map is read anew (a replica may have taken over); then they fail with the loss.
        void lost(std::vector<std::size_t> const& ops, std::exception_ptr const& e) const {
            batcher_->cluster_.mark_stale();
            std::vector<std::size_t> again;
            for (std::size_t i : ops) {
                if (retried_.size() != results_.size()) retried_.assign(results_.size(), false);
                if (retried_[i]) {
                    settle(i, e);
                } else {
                    retried_[i] = true;
                    again.push_back(i);
                }
            }
            if (!again.empty()) send(again, {});
        }

        void settle(std::size_t i, std::exception_ptr e) const { results_[i].emplace(std::move(e)); }

        cluster_get_batcher const* batcher_;
        std::vector<std::string> keys_;
        mutable std::vector<std::optional<outcome<result_t>>> results_;
        mutable std::vector<part> parts_;
        mutable std::vector<bool> retried_;
        mutable std::vector<int> redirections_ = std::vector<int>(results_.size(), 0);
        mutable std::size_t left_ = 0;
    };

    pending submit(std::span<Op const> ops) const { return pending(this, ops); }

private:
    cluster cluster_;
    KeyOf key_of_;
    Decode decode_;
};

/// A GET batcher for `Op` over a Redis Cluster (see `cluster_get_batcher`), with the checks of
/// `get`.
template <class Op, class KeyOf, class Decode = as_string>
[[nodiscard]] auto cluster_get(cluster c, KeyOf key_of, Decode decode = {}) {
    if constexpr (detail::get_checks<Op, KeyOf, Decode>()) {
        return cluster_get_batcher<Op, KeyOf, Decode>(std::move(c), std::move(key_of), std::move(decode));
    } else {
        return stores::detail::not_built<Op>();
    }
}

} // namespace batch::redis
