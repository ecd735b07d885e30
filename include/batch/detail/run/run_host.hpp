#pragma once

#include <batch/async_batcher.hpp>
#include <batch/detail/base/clock.hpp>
#include <batch/detail/run/scheduler.hpp>

#include <concepts>
#include <exception>
#include <vector>

namespace batch::detail {

/// What a run (`batch::active_run`) needs of the executor it runs on, which both executors give
/// it through `host_access`: the run's context and the dispatch of a round; when asynchronous,
/// the batches in flight; when observed, the observer's hooks.
template <class Host>
concept run_host = requires(Host& h) {
    { h.run_context() } -> std::convertible_to<scheduler&>;
    h.dispatch_round();
    { Host::asynchronous } -> std::convertible_to<bool>;
    { Host::observed } -> std::convertible_to<bool>;
};

/// The host's asynchronous round: what the batches in flight wait for, and how they end.
template <class Host>
concept async_run_host = run_host<Host> && requires(Host& h, Host const& ch, std::vector<io_interest>& out, int fd,
                                                    short revents, std::chrono::steady_clock::time_point t) {
    { ch.io_pending() } -> std::convertible_to<bool>;
    h.settle_io();
    ch.collect_waits(out);
    h.io_ready(fd, revents);
    ch.io_deadline();
    h.expire_io(t);
    h.cancel_io();
};

/// The host's observer hooks.
template <class Host>
concept observed_run_host = run_host<Host> && requires(Host& h, std::chrono::steady_clock::time_point t,
                                                       std::exception_ptr e) {
    h.run_began();
    h.round_began(t);
    h.round_ended();
    h.run_ended(e);
};

/// Reaches an executor's host (its `host_` member); only `batch::active_run` uses it.
struct host_access {
    template <class Executor>
    static auto& host(Executor& ex) noexcept {
        return ex.host_;
    }
};

} // namespace batch::detail
