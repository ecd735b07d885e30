#pragma once

#include <batch/active_run.hpp>
#include <batch/async_batcher.hpp>
#include <batch/detail/base/clock.hpp>
#include <batch/detail/run/yield_checks.hpp>

#include <poll.h>

#include <cerrno>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch::io {

/// Waits once with poll(2) until a descriptor the run's batches wait for is ready, or the
/// earliest deadline passes; then hands the ready descriptors to the run and expires the
/// batches past their deadline.
template <class Run>
void wait_with_poll(Run& run) {
    thread_local std::vector<pollfd> fds;
    fds.clear();
    for (io_interest const& w : run.waits()) fds.push_back({w.fd, w.events, 0});
    int timeout = -1;
    if (auto const deadline = run.deadline()) {
        auto const left = *deadline - std::chrono::steady_clock::now();
        auto const ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
        timeout = ms <= 0 ? 0 : static_cast<int>(ms);
    }
    int const n = ::poll(fds.data(), static_cast<nfds_t>(fds.size()), timeout);
    if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "batch: poll");
    for (pollfd const& p : fds) {
        if (p.revents != 0) run.ready(p.fd, p.revents);
    }
    run.expire();
}

/// Runs `x` on `ex` to the end, waiting with poll(2) whenever a round waits for asynchronous
/// batches: what `ex.run(x)` does.
template <class Executor, class Yielded>
auto run_blocking(Executor& ex, Yielded&& x) {
    using item = std::remove_cvref_t<Yielded>;
    using ops_t = typename Executor::operation_set;
    if constexpr (!detail::yieldable<item, ops_t>) {
        detail::reject_yield<item, ops_t>();
        return detail::rejected_yield<detail::presumed_result_t<item>>::await_resume();
    } else {
        active_run<Executor, Yielded> run(ex, std::forward<Yielded>(x));
        while (!run.step()) wait_with_poll(run);
        return run.result();
    }
}

} // namespace batch::io
