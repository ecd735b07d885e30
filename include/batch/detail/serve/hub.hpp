#pragma once

// The loop's side of one operation type: the operations that every request on the loop
// submitted during a turn, merged into one batcher call per `batch_key` (identical operations
// of a deduplicating type sent once), split by `max_batch_size`, called or submitted, and
// answered back to each request's ticket.

#include <batch/async_batcher.hpp>
#include <batch/cache.hpp>
#include <batch/detail/base/clock.hpp>
#include <batch/detail/base/type_name.hpp>
#include <batch/detail/checks/batcher_set.hpp>
#include <batch/detail/executor/in_flight.hpp>
#include <batch/detail/run/batch_call.hpp>
#include <batch/detail/serve/ticket.hpp>
#include <batch/error.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace batch::detail::serve {

/// What a loop counts across all its requests.
struct hub_counts {
    std::size_t batches = 0;      ///< Batcher calls (each carrying the operations of many requests).
    std::size_t operations = 0;   ///< Operations passed to batchers.
    std::size_t deduplicated = 0; ///< Identical operations of different requests sent once.
    std::size_t largest_batch = 0;
};

/// The batcher calls of `Op` for every request on a loop, served by `Batcher` (a plain or an
/// asynchronous batcher; `Limit` is the largest call, 0 for none).
template <class Op, class Batcher, batcher_kind Kind, std::size_t Limit>
class hub {
    using ticket_t = ticket<Op>;
    using outcome_t = typename ticket_t::outcome_type;
    static constexpr bool keyed = keyed_operation<Op>;
    // Identical operations of different requests are merged where the type asks for it within
    // a request, and their results can be copied.
    static constexpr bool merges = deduplicates_v<Op> && std::copy_constructible<outcome_t>;

    struct no_key {
        friend bool operator==(no_key, no_key) noexcept { return true; }
    };
    template <class O>
    static auto key_type_of() {
        if constexpr (keyed_operation<O>) {
            return std::type_identity<std::decay_t<decltype(key_of(std::declval<O const&>()))>>{};
        } else {
            return std::type_identity<no_key>{};
        }
    }
    using key_t = typename decltype(key_type_of<Op>())::type;

    /// A request's part of a call: operations [first, first + count) of its group.
    struct entry {
        std::shared_ptr<ticket_t> ticket;
        std::size_t first;
        std::size_t count;
    };

    /// The operations of one key queued during this turn.
    struct group {
        key_t key;
        std::vector<Op> ops;
        std::vector<entry> entries;
    };

    /// A group sent: its distinct operations, where each entry's answers come from, and the
    /// answers as its calls come in.
    struct sent {
        std::vector<Op> ops;
        std::vector<entry> entries;
        std::vector<std::size_t> slots; ///< Empty, or the distinct operation of each queued one.
        std::vector<std::optional<outcome_t>> results;
        std::size_t calls_left = 0;
    };

    struct no_pending {};
    template <batcher_kind K>
    static auto pending_type_of() {
        if constexpr (K == batcher_kind::async) {
            return std::type_identity<pending_t<Batcher, Op>>{};
        } else {
            return std::type_identity<no_pending>{};
        }
    }
    using pending_type = typename decltype(pending_type_of<Kind>())::type;

    /// An asynchronous call in flight: operations [begin, end) of a sent group.
    struct flight {
        sent* of;
        std::size_t begin;
        std::size_t end;
        pending_type pending;
        clock::time_point deadline;
    };

public:
    static constexpr bool asynchronous = Kind == batcher_kind::async;

    explicit hub(Batcher& batcher) noexcept : batcher_(&batcher) {}

    hub(hub const&) = delete;
    hub& operator=(hub const&) = delete;

    ~hub() { cancel_all(); }

    /// A request's executor submits `ops` (all of one `batch_key`) for this turn.
    void enqueue(std::span<Op const> ops, std::shared_ptr<ticket_t> const& t) {
        if (ops.empty()) {
            t->finish();
            return;
        }
        key_t key = key_for(ops.front());
        auto g = std::find_if(queued_.begin(), queued_.end(), [&](group const& q) { return q.key == key; });
        if (g == queued_.end()) g = queued_.insert(queued_.end(), group{std::move(key), {}, {}});
        std::size_t const first = g->ops.size();
        g->entries.push_back({t, first, ops.size()});
        try {
            for (auto const& op : ops) g->ops.push_back(op);
        } catch (...) {
            while (g->ops.size() > first) g->ops.pop_back();
            g->entries.pop_back();
            throw;
        }
    }

    /// True when operations wait to be sent.
    [[nodiscard]] bool queued() const noexcept { return !queued_.empty(); }

    /// True while an asynchronous call is in flight.
    [[nodiscard]] bool in_flight() const noexcept { return !flights_.empty(); }

    /// Sends what the turn queued: one call per key and chunk. A plain batcher answers at once;
    /// an asynchronous one later, through `ready` and `settle`.
    /// With `across_requests` false, each request's part is sent as a call of its own (what
    /// one executor per request sends: for comparison). With `max_in_flight` above zero, an
    /// asynchronous batcher's queue waits while that many of its calls are in flight (and
    /// gathers what comes meanwhile): nothing is dropped. Returns whether it sent anything.
    bool flush(hub_counts& counts, bool across_requests = true, std::size_t max_in_flight = 0) {
        if (queued_.empty()) return false;
        if constexpr (asynchronous) {
            if (max_in_flight != 0 && flights_.size() >= max_in_flight) return false;
        }
        auto groups = std::move(queued_);
        queued_.clear();
        for (auto& g : groups) {
            if (across_requests || g.entries.size() == 1) {
                send(std::move(g), counts);
                continue;
            }
            for (auto& e : g.entries) {
                group alone{g.key, {}, {}};
                for (std::size_t i = e.first; i < e.first + e.count; ++i) alone.ops.push_back(std::move(g.ops[i]));
                alone.entries.push_back({std::move(e.ticket), 0, e.count});
                send(std::move(alone), counts);
            }
        }
        return true;
    }

    /// Ends the asynchronous calls that are done (or cannot go on).
    void settle() {
        if constexpr (asynchronous) flights::settle(flights_, finisher());
    }

    /// What the calls in flight wait for, merged into `out` (one entry per descriptor).
    void collect_waits(std::vector<io_interest>& out) const {
        if constexpr (asynchronous) flights::add_waits(flights_, out);
    }

    /// `fd` is ready with `revents`: the calls waiting on it advance; those done end.
    void ready(int fd, short revents) {
        if constexpr (asynchronous) flights::ready(flights_, fd, revents, finisher());
    }

    /// The earliest deadline of a call in flight, if one has one.
    [[nodiscard]] std::optional<clock::time_point> deadline() const {
        std::optional<clock::time_point> next;
        flights::earliest_deadline(flights_, next);
        return next;
    }

    /// Cancels the calls past their deadline; their operations fail with `batch::timeout_error`.
    void expire(clock::time_point now) {
        if constexpr (asynchronous) {
            flights::expire(flights_, now, finisher(),
                            [](flight const& f) { return timeout_message<Op>(f.end - f.begin, f.pending); });
        }
    }

    /// Cancels every call in flight and fails what waits on them with `e` (the loop stops).
    void cancel_all(std::exception_ptr const& e = nullptr) noexcept {
        if constexpr (asynchronous) {
            auto given_up = std::move(flights_);
            flights_.clear();
            for (auto& f : given_up) batch::detail::cancel(f.pending);
            for (auto& f : given_up) {
                if (e) answer_range(*f.of, f.begin, f.end, e);
            }
            sent_.clear();
        }
        for (auto& g : queued_) {
            for (auto& en : g.entries) {
                if (e) en.ticket->fail(e);
            }
        }
        queued_.clear();
    }

private:
    static key_t key_for([[maybe_unused]] Op const& op) {
        if constexpr (keyed) {
            return key_t(key_of(op));
        } else {
            return no_key{};
        }
    }

    // Sends one group: drops the parts of requests that gave up, merges identical operations,
    // and calls (or submits) in chunks.
    void send(group&& g, hub_counts& counts) {
        auto s = std::make_unique<sent>();
        drop_abandoned(g);
        if (g.entries.empty()) return;
        s->entries = std::move(g.entries);
        if constexpr (merges) {
            counts.deduplicated += merge(g.ops, *s);
        } else {
            s->ops = std::move(g.ops);
        }
        std::size_t const n = s->ops.size();
        s->results.resize(n);
        std::size_t const chunk = Limit == 0 ? n : Limit;
        s->calls_left = (n + chunk - 1) / chunk;
        sent& into = *s;
        if constexpr (asynchronous) sent_.push_back(std::move(s));
        for (std::size_t lo = 0; lo < n; lo += chunk) {
            std::size_t const hi = std::min(n, lo + chunk);
            ++counts.batches;
            counts.operations += hi - lo;
            counts.largest_batch = std::max(counts.largest_batch, hi - lo);
            call(into, lo, hi);
        }
    }

    // The parts of requests that gave up before their operations were sent are not sent.
    static void drop_abandoned(group& g) {
        bool const any =
            std::any_of(g.entries.begin(), g.entries.end(), [](entry const& e) { return !e.ticket->owner; });
        if (!any) return;
        std::vector<Op> ops;
        std::vector<entry> entries;
        for (auto& e : g.entries) {
            if (!e.ticket->owner) continue;
            std::size_t const first = ops.size();
            for (std::size_t i = e.first; i < e.first + e.count; ++i) ops.push_back(std::move(g.ops[i]));
            entries.push_back({std::move(e.ticket), first, e.count});
        }
        g.ops = std::move(ops);
        g.entries = std::move(entries);
    }

    // Keeps the first of identical operations; returns how many were merged away.
    static std::size_t merge(std::vector<Op>& ops, sent& s) {
        auto const hash = [](Op const* op) { return operation_hash<Op>{}(*op); };
        auto const equal = [](Op const* a, Op const* b) { return *a == *b; };
        std::unordered_map<Op const*, std::size_t, decltype(hash), decltype(equal)> seen(ops.size(), hash, equal);
        std::vector<std::size_t> slots(ops.size());
        std::vector<std::size_t> firsts;
        for (std::size_t i = 0; i < ops.size(); ++i) {
            auto [it, fresh] = seen.try_emplace(&ops[i], firsts.size());
            if (fresh) firsts.push_back(i);
            slots[i] = it->second;
        }
        std::size_t const merged = ops.size() - firsts.size();
        if (merged == 0) {
            s.ops = std::move(ops);
            return 0;
        }
        s.ops.reserve(firsts.size());
        for (std::size_t i : firsts) s.ops.push_back(std::move(ops[i]));
        s.slots = std::move(slots);
        return merged;
    }

    // One call of operations [lo, hi) of `s`.
    void call(sent& s, std::size_t lo, std::size_t hi) {
        std::span<Op const> const input(s.ops.data() + lo, hi - lo);
        if constexpr (asynchronous) {
            try {
                flights_.reserve(flights_.size() + 1);
                auto const timeout = timeout_of(*batcher_);
                auto deadline = clock::time_point::max();
                if (timeout > clock::duration::zero()) deadline = clock::now() + timeout;
                flights_.push_back({&s, lo, hi, batcher_->submit(input), deadline});
            } catch (...) {
                answer_range(s, lo, hi, std::current_exception());
            }
        } else {
            try {
                if constexpr (Kind == batcher_kind::nothing) {
                    std::invoke(*batcher_, input);
                    for (std::size_t i = lo; i < hi; ++i) s.results[i].emplace();
                    call_answered(s);
                } else {
                    answer(s, lo, hi, std::invoke(*batcher_, input));
                }
            } catch (...) {
                answer_range(s, lo, hi, std::current_exception());
            }
        }
    }

    // Files the results of a call of operations [lo, hi) after checking their count.
    template <class Results>
    void answer(sent& s, std::size_t lo, std::size_t hi, Results&& results) {
        check_result_count(static_cast<std::size_t>(std::ranges::size(results)), hi - lo, "batch: the batcher for",
                           type_name_v<Op>);
        auto it = std::ranges::begin(results);
        for (std::size_t i = lo; i < hi; ++i, ++it) s.results[i].emplace(std::move(*it));
        call_answered(s);
    }

    // Fails every operation of a call of operations [lo, hi) with `e`.
    void answer_range(sent& s, std::size_t lo, std::size_t hi, std::exception_ptr const& e) noexcept {
        for (std::size_t i = lo; i < hi; ++i) s.results[i].emplace(e);
        call_answered(s);
    }

    // One call of `s` has answered; after the last, every request's part is answered.
    void call_answered(sent& s) noexcept {
        if (--s.calls_left != 0) return;
        for (auto& e : s.entries) {
            ticket_t& t = *e.ticket;
            if (!t.owner) continue; // the request gave up
            try {
                t.results.reserve(e.count);
                for (std::size_t j = e.first; j < e.first + e.count; ++j) {
                    if constexpr (merges) {
                        if (!s.slots.empty()) {
                            t.results.push_back(*s.results[s.slots[j]]);
                            continue;
                        }
                    }
                    t.results.push_back(std::move(*s.results[j]));
                }
                t.finish();
            } catch (...) {
                t.results.clear();
                t.fail(std::current_exception());
            }
        }
        if constexpr (asynchronous) {
            auto const it = std::find_if(sent_.begin(), sent_.end(), [&](auto const& p) { return p.get() == &s; });
            if (it != sent_.end()) sent_.erase(it);
        }
    }

    // What `flights::...` calls for a call that has ended.
    auto finisher() noexcept {
        return [this](flight& f, std::exception_ptr const& error) noexcept { finish(f, error); };
    }

    // An asynchronous call has ended: its results are filed, or its operations fail.
    void finish(flight& f, std::exception_ptr error) noexcept {
        if (!error) {
            try {
                if constexpr (std::is_void_v<decltype(f.pending.results())>) {
                    f.pending.results();
                    for (std::size_t i = f.begin; i < f.end; ++i) f.of->results[i].emplace();
                    call_answered(*f.of);
                } else {
                    answer(*f.of, f.begin, f.end, f.pending.results());
                }
                return;
            } catch (...) {
                error = std::current_exception();
            }
        }
        answer_range(*f.of, f.begin, f.end, error);
    }

    Batcher* batcher_;
    std::vector<group> queued_;
    std::vector<std::unique_ptr<sent>> sent_;
    std::vector<flight> flights_; ///< Empty unless the batcher is asynchronous.
};

} // namespace batch::detail::serve
