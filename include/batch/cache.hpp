#pragma once

// The caches of cached operation types, chosen per type at compile time by its `cache_policy`:
//
//   struct get_user {
//       std::int64_t id;
//       using result_type = user;
//       using cache_policy = batch::lru_cache<10'000>; // implies cacheable
//       bool operator==(get_user const&) const = default;
//   };
//
// A policy is a type with a member template `cache<Op, Entry>` naming a class that meets
// `batch::cache_for` (see operation.hpp); a user-written policy works like the ones below.

#include <batch/operation.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace batch {
namespace detail {

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
template <class Op, class Entry>
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
    std::unordered_map<Op, Entry> map_;
};

/// At most `MaxEntries` results (0: no bound), the least recently used evicted first; with a
/// `Ttl` above zero, a result expires that long after it was stored. The entries live in a hash
/// map's nodes, which do not move, linked from most to least recently used.
template <class Op, class Entry, std::size_t MaxEntries, class Ttl>
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

    std::unordered_map<Op, node> map_;
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

} // namespace detail

/// Asks `prime` and `prime_error` to replace a result the cache keeps already.
struct overwrite_t {
    explicit overwrite_t() = default;
};
inline constexpr overwrite_t overwrite{};

/// Keeps every result until it is forgotten (`ex.forget(op)`, `ex.clear_cache()`): the policy of
/// a type that is only `cacheable`.
struct unbounded_cache {
    template <class Op, class Entry>
    using cache = detail::unbounded_map<Op, Entry>;
};

/// Keeps at most `MaxEntries` results; storing one more evicts the least recently used (a hit
/// makes a result the most recently used).
template <std::size_t MaxEntries>
struct lru_cache {
    static_assert(MaxEntries > 0, "batch: lru_cache<N> keeps at most N results; N must be at least 1");
    template <class Op, class Entry>
    using cache = detail::bounded_map<Op, Entry, MaxEntries, detail::no_ttl>;
};

/// Keeps each result for `Count` `Duration`s after it was stored (`expiring_cache<std::chrono::seconds,
/// 30>`), and, with `MaxEntries` above 0, at most that many, the least recently used evicted
/// first. An expired result is dropped when it is next asked for, which then goes to the batcher.
/// Each hit reads `Clock` (most of a hit's cost): a cheaper steady clock, such as one reading
/// Linux's `CLOCK_MONOTONIC_COARSE`, makes hits cheaper at the price of its resolution.
template <class Duration, typename Duration::rep Count, std::size_t MaxEntries = 0,
          class Clock = std::chrono::steady_clock>
struct expiring_cache {
    static_assert(Count > 0, "batch: expiring_cache<D, N> keeps results for N units of D; N must be above 0");
    using clock = Clock; ///< Checked by batch::operations: a steady clock.
    template <class Op, class Entry>
    using cache = detail::bounded_map<Op, Entry, MaxEntries, detail::ttl_of<Duration, Count, Clock>>;
};

namespace detail {
template <class Op, bool = has_cache_policy<Op>>
struct policy_of {
    using type = unbounded_cache;
};
template <class Op>
struct policy_of<Op, true> {
    using type = typename Op::cache_policy;
};
} // namespace detail

/// The cache an executor keeps for the cached operation type `Op`: its policy's, or an
/// `unbounded_cache`'s.
template <class Op>
using cache_t = typename detail::policy_of<Op>::type::template cache<Op, cache_entry_t<Op>>;

} // namespace batch
