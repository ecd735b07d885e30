#pragma once

#include <batch/async_batcher.hpp>
#include <batch/detail/base/clock.hpp>
#include <batch/detail/checks/batcher_set.hpp>
#include <batch/detail/executor/in_flight.hpp>
#include <batch/detail/run/bucket.hpp>
#include <batch/operation_set.hpp>

#include <exception>
#include <optional>
#include <utility>
#include <vector>

namespace batch::detail {

/// The list of asynchronous batches in flight for `Op`, or `no_flights` where its batcher is
/// not asynchronous.
template <class Set, class Op, bool = Set::template is_async<Op>>
struct flights_of {
    using type = no_flights;
};
template <class Set, class Op>
struct flights_of<Set, Op, true> {
    using type =
        std::vector<flight<typename bucket<Op>::call_type, pending_t<typename Set::template batcher_t<Op>, Op>>>;
};

template <class Set, class Ops>
class async_round;

/// The asynchronous part of an executor's rounds: batches are submitted as the round dispatches
/// them, and the round ends when the last one is in. `Finish` is what the executor does with
/// a batch that has ended: `finish(flight, error)` delivers its results, or fails its
/// operations with `error` when that is not null.
template <class Set, class... Ops>
class async_round<Set, operations<Ops...>> {
    using ops_t = operations<Ops...>;

public:
    /// Starts an asynchronous batch of `c` on `batcher`; one that cannot be started fails its
    /// operations through `fail(call, error)`.
    template <class Op, class Batcher, class Call, class Fail>
    void submit(Batcher& batcher, Call&& c, clock::time_point started, Fail&& fail) {
        auto& flights = in_flight_.template list<ops_t::template index_of<Op>>();
        try {
            flights.reserve(flights.size() + 1);
            auto const timeout = timeout_of(batcher);
            auto deadline = clock::time_point::max();
            if (timeout > clock::duration::zero()) deadline = clock::now() + timeout;
            auto pending = batcher.submit(c.input()); // the span outlives the move below
            flights.push_back({std::move(c), std::move(pending), deadline, started});
        } catch (...) {
            fail(c, std::current_exception());
        }
    }

    /// True while some batch is in flight.
    [[nodiscard]] bool pending() const noexcept { return !in_flight_.empty(); }

    /// Ends the batches that are done (or cannot go on).
    template <class Finish>
    void settle(Finish&& finish) {
        in_flight_.settle(finish);
    }

    /// What the batches in flight wait for, one entry per descriptor.
    void collect_waits(std::vector<io_interest>& out) const { in_flight_.collect_waits(out); }

    /// `fd` is ready with `revents`: the batches waiting on it advance, and those done end.
    template <class Finish>
    void ready(int fd, short revents, Finish&& finish) {
        in_flight_.ready(fd, revents, finish);
    }

    /// The earliest deadline of a batch in flight, if any has one.
    [[nodiscard]] std::optional<clock::time_point> deadline() const { return in_flight_.next_deadline(); }

    /// Ends the batches past their deadline with `batch::timeout_error`.
    template <class Finish>
    void expire(clock::time_point now, Finish&& finish) {
        in_flight_.expire(now, finish);
    }

    /// Cancels and drops every batch in flight (the run has stopped).
    void cancel() noexcept { in_flight_.cancel_all(); }

private:
    in_flight_set<typename flights_of<Set, Ops>::type...> in_flight_;
};

} // namespace batch::detail
