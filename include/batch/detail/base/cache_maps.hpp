#pragma once

// The maps behind the cache policies of cache.hpp: keyed by an operation, hashed by `Hash`.
// Nothing here knows what an operation is.

#include <batch/detail/base/clock.hpp>

#include <cstddef>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace batch::detail {

/// Stores `value` at `it`, the entry of `key` in `map`: by assignment, or, for a type that
/// cannot be assigned, by making the entry again.
template <class Map, class Key, class Value>
void replace(Map& map, typename Map::iterator it, Key const& key, Value&& value) {
    if constexpr (std::is_move_assignable_v<std::remove_cvref_t<Value>>) {
        it->second = std::forward<Value>(value);
    } else {
        map.erase(it);
        map.emplace(key, std::forward<Value>(value));
    }
}

/// Every result kept until forgotten: a hash map, as fast as a cache can be.
template <class Op, class Entry, class Hash>
class unbounded_map {
public:
    [[nodiscard]] Entry const* find(Op const& op) const {
        auto const it = map_.find(op);
        return it == map_.end() ? nullptr : &it->second;
    }
    void insert_or_assign(Op const& op, Entry entry) {
        auto const [it, inserted] = map_.try_emplace(op, std::move(entry)); // moves only if inserted
        if (!inserted) replace(map_, it, op, std::move(entry));
    }
    bool erase(Op const& op) { return map_.erase(op) != 0; }
    void clear() noexcept { map_.clear(); }
    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }

private:
    std::unordered_map<Op, Entry, Hash> map_;
};

/// At most `MaxEntries` results (0: no bound), the least recently used evicted first; with a
/// `Ttl` above zero, a result expires that long after it was stored. The entries live in a hash
/// map's nodes, which do not move, linked from most to least recently used.
template <class Op, class Entry, class Hash, std::size_t MaxEntries, class Ttl>
class bounded_map {
    using clock = typename Ttl::clock;
    static constexpr bool expires = Ttl::value > clock::duration::zero();
    struct no_deadline {};
    using deadline_t = std::conditional_t<expires, typename clock::time_point, no_deadline>;

    struct node {
        Entry entry;
        [[no_unique_address]] deadline_t deadline;
        node* newer = nullptr;
        node* older = nullptr;
        Op const* key = nullptr;
    };

public:
    bounded_map() = default;
    // The nodes do not move with the map, so the links stay valid.
    bounded_map(bounded_map&& other) noexcept
        : map_(std::move(other.map_)), newest_(std::exchange(other.newest_, nullptr)),
          oldest_(std::exchange(other.oldest_, nullptr)), evictions_(other.evictions_), expiries_(other.expiries_) {
        other.map_.clear();
    }
    bounded_map& operator=(bounded_map&&) = delete;

    /// The entry for `op` (now the most recently used), or null; an expired one is dropped.
    [[nodiscard]] Entry const* find(Op const& op) {
        auto const it = map_.find(op);
        if (it == map_.end()) return nullptr;
        node& n = it->second;
        if constexpr (expires) {
            if (clock::now() >= n.deadline) {
                unlink(n);
                map_.erase(it);
                ++expiries_;
                return nullptr;
            }
        }
        if constexpr (MaxEntries > 0) {
            unlink(n);
            link_newest(n);
        }
        return &n.entry;
    }

    void insert_or_assign(Op const& op, Entry entry) {
        auto const it = map_.find(op);
        if (it != map_.end()) { // made again: Entry need not be assignable
            unlink(it->second);
            map_.erase(it);
        }
        if constexpr (MaxEntries > 0) {
            if (map_.size() >= MaxEntries) drop_oldest();
        }
        auto const [at, inserted] = map_.try_emplace(op, node{std::move(entry), deadline_t{}});
        node& n = at->second;
        n.key = &at->first;
        if constexpr (expires) n.deadline = clock::now() + Ttl::value;
        link_newest(n);
    }

    bool erase(Op const& op) {
        auto const it = map_.find(op);
        if (it == map_.end()) return false;
        unlink(it->second);
        map_.erase(it);
        return true;
    }

    void clear() noexcept {
        map_.clear();
        newest_ = oldest_ = nullptr;
    }

    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] std::size_t evictions() const noexcept { return evictions_; }
    [[nodiscard]] std::size_t expiries() const noexcept { return expiries_; }

private:
    void link_newest(node& n) noexcept {
        n.older = newest_;
        n.newer = nullptr;
        if (newest_) newest_->newer = &n;
        newest_ = &n;
        if (!oldest_) oldest_ = &n;
    }

    void unlink(node& n) noexcept {
        (n.newer ? n.newer->older : newest_) = n.older;
        (n.older ? n.older->newer : oldest_) = n.newer;
        n.newer = n.older = nullptr;
    }

    // Makes room: the least recently used entry goes (counted as an expiry if it had expired).
    void drop_oldest() {
        node* const n = oldest_;
        bool expired = false;
        if constexpr (expires) expired = clock::now() >= n->deadline;
        ++(expired ? expiries_ : evictions_);
        unlink(*n);
        map_.erase(*n->key);
    }

    std::unordered_map<Op, node, Hash> map_;
    node* newest_ = nullptr;
    node* oldest_ = nullptr;
    std::size_t evictions_ = 0;
    std::size_t expiries_ = 0;
};

template <class Duration, typename Duration::rep Count, class Clock>
struct ttl_of {
    using clock = Clock;
    static constexpr typename Clock::duration value =
        std::chrono::duration_cast<typename Clock::duration>(Duration(Count));
};
using no_ttl = ttl_of<std::chrono::seconds, 0, std::chrono::steady_clock>;

} // namespace batch::detail
