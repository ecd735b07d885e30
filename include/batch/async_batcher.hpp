#pragma once

#include <batch/detail/base/traits.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>

#include <chrono>
#include <concepts>
#include <span>
#include <type_traits>
#include <utility>

namespace batch {

/// What a pending asynchronous batch waits for now: a file descriptor and the poll(2) events
/// (`POLLIN`, `POLLOUT`) it needs.
struct io_interest {
    int fd = -1;
    short events = 0;

    friend bool operator==(io_interest const&, io_interest const&) = default;
};

/// Satisfied by the pending batch that an asynchronous batcher's `submit` returns:
/// - `interest()` says what it waits for now (it may change as the batch proceeds, say from
///   `POLLOUT` while the request is being written to `POLLIN` while the answer is read);
/// - `advance(revents)` is called when that descriptor is ready: it reads and writes what is
///   available without blocking, and may throw to fail the whole batch;
/// - `done()` says when the answer is complete;
/// - `results()`, once done, gives the results as a plain batcher would: a sized range of
///   `result_type` or of `batch::outcome<result_type>`, parallel to the submitted operations
///   (or nothing, for `void` results); it may throw to fail the whole batch.
/// Optionally, `cancel()` releases what a batch that will not be finished holds (the executor
/// calls it when the batch's deadline passes or its run stops early); the batch is destroyed
/// right after, in any case.
template <class Pending>
concept pending_batch = std::movable<Pending> && requires(Pending& p, Pending const& cp, short revents) {
    { cp.interest() } -> std::same_as<io_interest>;
    p.advance(revents);
    { cp.done() } -> std::convertible_to<bool>;
    p.results();
};

/// Satisfied by an asynchronous batcher for `Op`: `submit(ops)` starts one batch without
/// blocking and returns its pending batch. The span stays valid until the batch is done or
/// cancelled. Optionally, `timeout()` gives the longest time a batch may take (a
/// `std::chrono::duration`; zero for none): a batch still pending then is cancelled, and its
/// operations fail with `batch::timeout_error`.
template <class Batcher, class Op>
concept async_batcher_for = operation<Op> && requires(Batcher& b, std::span<Op const> ops) {
    { b.submit(ops) } -> pending_batch;
};

/// How a run with asynchronous batches in flight proceeds when some have answered and others
/// have not:
/// - `rounds` (the default): the round ends when its last batch is in; then every generator the
///   round answered resumes, and what they yield is dispatched as the next round;
/// - `completion_order` (Haxl 2's idea): a generator resumes as soon as the batches it waits on
///   are in, and what it yields is dispatched at once, while slower batches are still in flight.
/// Results are the same either way; with `completion_order`, a chain that alternates between a
/// slow and a fast store does not wait for the slow one at every step, but the number of
/// batcher calls may grow (operations that would have met in one round are sent apart).
enum class scheduling { rounds, completion_order };

namespace detail {

template <class Batcher, class Op>
using pending_t = decltype(std::declval<Batcher&>().submit(std::declval<std::span<Op const>>()));

/// The longest time a batch of `batcher` may take, or zero for no limit.
template <class Batcher>
std::chrono::steady_clock::duration timeout_of(Batcher const& batcher) {
    if constexpr (requires { batcher.timeout(); }) {
        return std::chrono::duration_cast<std::chrono::steady_clock::duration>(batcher.timeout());
    } else {
        return std::chrono::steady_clock::duration::zero();
    }
}

/// Calls `cancel()` on a pending batch that has one; what it throws is dropped, as the batch
/// is given up anyway.
template <class Pending>
void cancel(Pending& p) noexcept {
    if constexpr (requires { p.cancel(); }) {
        try {
            p.cancel();
        } catch (...) {
        }
    }
}

} // namespace detail
} // namespace batch
