#pragma once

#include <batch/detail/base/clock.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>
#include <utility>

namespace batch {

/// What a pending asynchronous batch waits for now: a file descriptor and the poll(2) events
/// (`POLLIN`, `POLLOUT`) it needs. Optionally, `connection` names the connection behind `fd`, a
/// number that no other connection opened in the process has (`batch::new_connection_id()`,
/// taken when it opens): an event loop given one tells a connection reopened under the same
/// descriptor number from the old one without a system call per wait. 0: not named. And
/// optionally, `answer` is the number of the answer the batch waits for, where its connection
/// numbers its answers from 1 up, files them in that order and reports each with
/// `batch::answers_filed(fd, number)`: an event loop then wakes only the runs whose answers were
/// filed. 0: not numbered (woken whenever answers are filed on `fd`).
struct io_interest {
    int fd = -1;
    short events = 0;
    std::uint64_t connection = 0;
    std::uint64_t answer = 0;

    friend bool operator==(io_interest const&, io_interest const&) = default;
};

/// A number for `io_interest::connection`: a new one on each call (never 0), on any thread.
inline std::uint64_t new_connection_id() noexcept {
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

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
/// right after, in any case. A batch found `done()` when its descriptor is ready is not advanced.
/// Where batches of several runs share a connection, `advance` on any of them may file the
/// others' answers: it then calls `batch::answers_filed(fd)`, so that their runs are woken.
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

/// The descriptors on which answers were filed (`answers_filed`) while an event loop stepped a
/// run on this thread, each with the highest answer number filed: a few, or `all` when more
/// came than it holds.
struct filed_descriptors {
    static constexpr std::size_t capacity = 8;
    int fds[capacity] = {};
    std::uint64_t through[capacity] = {};
    std::size_t count = 0;
    bool all = false;
};

/// Where `answers_filed` notes descriptors on this thread (none: nothing is noted).
inline thread_local filed_descriptors* filed_on = nullptr;

/// While it lives, `answers_filed` notes into `into` (an event loop sets it around a step).
class filing_scope {
public:
    explicit filing_scope(filed_descriptors& into) noexcept : previous_(filed_on) { filed_on = &into; }
    filing_scope(filing_scope const&) = delete;
    filing_scope& operator=(filing_scope const&) = delete;
    ~filing_scope() { filed_on = previous_; }

private:
    filed_descriptors* previous_;
};

} // namespace detail

/// For an asynchronous batcher whose connection several runs may share: call it after filing
/// answers (or failures) on the connection of descriptor `fd` for batches that other runs may
/// wait for. Their answers were read by this run, so no readiness of `fd` will tell them: the
/// event loop that drives the runs (`batch::asio::async_run`, `batch::asio::loop`) wakes the runs
/// waiting on `fd` when the step ends: those whose `io_interest::answer` is at most `through`
/// (the answers up to it are filed), and those that name no answer. Outside such a loop it does
/// nothing; it never throws.
inline void answers_filed(int fd, std::uint64_t through = std::numeric_limits<std::uint64_t>::max()) noexcept {
    detail::filed_descriptors* const into = detail::filed_on;
    if (!into || fd < 0 || into->all) return;
    for (std::size_t i = 0; i < into->count; ++i) {
        if (into->fds[i] == fd) {
            into->through[i] = std::max(into->through[i], through);
            return;
        }
    }
    if (into->count == detail::filed_descriptors::capacity) {
        into->all = true;
    } else {
        into->fds[into->count] = fd;
        into->through[into->count++] = through;
    }
}

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
