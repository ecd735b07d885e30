#pragma once

#include <batch/async_batcher.hpp>
#include <batch/detail/base/clock.hpp>
#include <batch/detail/base/type_name.hpp>
#include <batch/error.hpp>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch::detail {

using clock = std::chrono::steady_clock;

/// One submitted asynchronous batch: the call it serves (which keeps the span the batcher was
/// given alive), its pending batch, and when it must be done by.
template <class Call, class Pending>
struct flight {
    using call_type = Call;

    Call call;
    Pending pending;
    clock::time_point deadline = clock::time_point::max();
    clock::time_point submitted{}; ///< Measured only by an executor with an observer.
};

/// What a batch that its batcher's `timeout()` ended says: how many operations of which type,
/// and on which store (the pending batch's `name()`, where it has one: "postgres").
template <class Op, class Pending>
std::string timeout_message(std::size_t operations, Pending const& pending) {
    std::string m =
        "batch: a batch of " + std::to_string(operations) + " operations of type " + std::string(type_name_v<Op>);
    if constexpr (requires {
                      { pending.name() } -> std::convertible_to<std::string_view>;
                  }) {
        m += " on " + std::string(pending.name());
    }
    return m + " did not finish within its batcher's timeout(); it was cancelled";
}

/// Stands for the flights of an operation type whose batcher is not asynchronous.
struct no_flights {};

/// True for a pending batch that waits on no descriptor of its own: something else (a loop
/// serving many requests, `batch::asio::loop`) completes it and wakes its run.
template <class Pending>
concept completed_elsewhere = Pending::completed_elsewhere;

/// What is done to one list of asynchronous batches in flight (a `std::vector` of flights, each
/// with a `pending` batch and a `deadline`), whoever keeps it: an executor's round
/// (`in_flight_set`, a list per operation type) or a loop's hub (`serve::hub`). `finish(flight,
/// error)` is the keeper's: it delivers a batch that has ended, or fails its operations with
/// `error` when that is not null.
namespace flights {

/// What becomes of a batch: nothing yet (empty), or it ends, with an error or none.
using verdict = std::optional<std::exception_ptr>;

/// Ends the batches for which `judge` gives a verdict, in submission order, and keeps the others.
template <class List, class Finish, class Judge>
void end_where(List& list, Finish& finish, Judge&& judge) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < list.size(); ++i) {
        verdict const v = judge(list[i]);
        if (!v) {
            if (kept != i) std::swap(list[kept], list[i]);
            ++kept;
        } else {
            finish(list[i], *v);
        }
    }
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(kept), list.end());
}

/// Adds what the batches wait for to `out`: one entry per descriptor, with the events of every
/// batch on it merged, and the earliest answer any of them waits for (none, if one names none).
template <class List>
void add_waits(List const& list, std::vector<io_interest>& out) {
    for (auto const& f : list) {
        io_interest const want = f.pending.interest();
        if (want.fd < 0) continue; // completed elsewhere
        auto const same_fd = [&](io_interest const& w) { return w.fd == want.fd; };
        if (auto it = std::find_if(out.begin(), out.end(), same_fd); it != out.end()) {
            it->events = static_cast<short>(it->events | want.events);
            it->answer = std::min(it->answer, want.answer);
        } else {
            out.push_back(want);
        }
    }
}

/// Ends every batch that is done, or that cannot go on: one that waits on no descriptor.
template <class List, class Finish>
void settle(List& list, Finish&& finish) {
    end_where(list, finish, [](auto& f) -> verdict {
        if (f.pending.done()) return std::exception_ptr();
        if constexpr (completed_elsewhere<decltype(f.pending)>) return std::nullopt;
        if (f.pending.interest().fd < 0) {
            return std::make_exception_ptr(
                batcher_error("batch: an asynchronous batch is not done and waits on no descriptor; interest() must "
                              "name a descriptor until done() is true"));
        }
        return std::nullopt;
    });
}

/// Advances every batch waiting on `fd`, found ready with `revents`, and ends those that are
/// done or failed. A batch that is done already (on a shared connection, a read for another
/// batch filed its answer) is not advanced: that would cost a read that finds nothing.
template <class List, class Finish>
void ready(List& list, int fd, short revents, Finish&& finish) {
    end_where(list, finish, [&](auto& f) -> verdict {
        if (f.pending.interest().fd != fd) return std::nullopt;
        if (f.pending.done()) return std::exception_ptr(); // another's read filed its answer
        try {
            f.pending.advance(revents);
        } catch (...) {
            return std::current_exception();
        }
        if (f.pending.done()) return std::exception_ptr();
        return std::nullopt;
    });
}

/// Makes `next` the earliest of itself and the deadlines of the batches that have one.
template <class List>
void earliest_deadline(List const& list, std::optional<clock::time_point>& next) {
    for (auto const& f : list) {
        if (f.deadline != clock::time_point::max() && (!next || f.deadline < *next)) next = f.deadline;
    }
}

/// Cancels every batch past its deadline and fails its operations with a `batch::timeout_error`
/// whose message `message(flight)` gives.
template <class List, class Finish, class Message>
void expire(List& list, clock::time_point now, Finish&& finish, Message&& message) {
    end_where(list, finish, [&](auto& f) -> verdict {
        if (f.deadline > now) return std::nullopt;
        cancel(f.pending);
        return std::make_exception_ptr(timeout_error(message(f)));
    });
}

/// Cancels and drops every batch, delivering nothing.
template <class List>
void cancel_all(List& list) noexcept {
    for (auto& f : list) cancel(f.pending);
    list.clear();
}

} // namespace flights

/// The asynchronous batches in flight in the current round: a list per operation type (a
/// `std::vector<flight<...>>`, or `no_flights` where the batcher is not asynchronous). What to
/// do with a batch that has ended is the executor's: `finish(flight, error)` delivers its
/// results, or fails its operations with `error` when that is not null.
template <class... Lists>
class in_flight_set {
public:
    template <std::size_t I>
    auto& list() noexcept {
        return std::get<I>(lists_);
    }

    [[nodiscard]] bool empty() const noexcept {
        bool none = true;
        each([&](auto const& list) { none = none && list.empty(); });
        return none;
    }

    /// What the batches in flight wait for: one entry per descriptor, with the events of every
    /// batch on it merged.
    void collect_waits(std::vector<io_interest>& out) const {
        out.clear();
        each([&](auto const& list) { flights::add_waits(list, out); });
    }

    /// Ends every batch that is done, or that cannot go on: one that waits on no descriptor.
    template <class Finish>
    void settle(Finish&& finish) {
        each([&](auto& list) { flights::settle(list, finish); });
    }

    /// Advances every batch waiting on `fd`, which poll(2) found ready with `revents`, and ends
    /// those that are done or failed.
    template <class Finish>
    void ready(int fd, short revents, Finish&& finish) {
        each([&](auto& list) { flights::ready(list, fd, revents, finish); });
    }

    /// The earliest deadline of a batch in flight, if any has one.
    [[nodiscard]] std::optional<clock::time_point> next_deadline() const {
        std::optional<clock::time_point> next;
        each([&](auto const& list) { flights::earliest_deadline(list, next); });
        return next;
    }

    /// Cancels every batch past its deadline and fails its operations with `batch::timeout_error`.
    template <class Finish>
    void expire(clock::time_point now, Finish&& finish) {
        each([&](auto& list) {
            flights::expire(list, now, finish, [](auto const& f) {
                return timeout_message<typename std::remove_cvref_t<decltype(f.call)>::operation>(f.call.size(),
                                                                                                  f.pending);
            });
        });
    }

    /// Cancels and drops every batch in flight, delivering nothing (the run has stopped).
    void cancel_all() noexcept {
        each([](auto& list) { flights::cancel_all(list); });
    }

private:
    template <class F>
    void each(F&& f) {
        std::apply([&](auto&... lists) { (visit(lists, f), ...); }, lists_);
    }
    template <class F>
    void each(F&& f) const {
        std::apply([&](auto const&... lists) { (visit(lists, f), ...); }, lists_);
    }
    template <class List, class F>
    static void visit(List& list, F& f) {
        if constexpr (!std::is_same_v<std::remove_const_t<List>, no_flights>) f(list);
    }

    std::tuple<Lists...> lists_;
};

} // namespace batch::detail
