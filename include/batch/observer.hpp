#pragma once

#include <batch/detail/base/clock.hpp>
#include <batch/stats.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace batch {

/// The clock of every time the library reports.
using clock = std::chrono::steady_clock;

/// One batcher call, as an observer sees it once the call has ended.
struct batch_event {
    std::string_view operation;     ///< The operation type, as the compiler spells it.
    std::string_view batcher;       ///< The batcher's `name()`, if it has one ("postgres"), else empty.
    std::size_t type_index = 0;     ///< The operation type's position in the operation set.
    std::optional<std::string> key; ///< The call's `batch_key`, written out, for a keyed type.
    std::size_t round = 0;          ///< The round of the call, from 1.
    std::size_t size = 0;           ///< Operations passed to the batcher.
    std::size_t deduplicated = 0;   ///< Operations answered by an identical one's result in this call.
    std::size_t failed = 0;         ///< Operations that failed alone (through their outcomes).
    bool asynchronous = false;      ///< True for an asynchronous batch.
    clock::time_point submitted;    ///< When the call started (`submit`, for an asynchronous batch).
    clock::time_point completed;    ///< When its results were delivered, or it failed.
    std::exception_ptr error;       ///< What failed the whole call, if anything.
};

/// One round: from the resuming of the generators that start it to the delivery of its last
/// batch.
struct round_event {
    std::size_t round = 0;      ///< From 1.
    std::size_t batches = 0;    ///< Batcher calls of the round.
    std::size_t cache_hits = 0; ///< Operations of the round answered from the cache.
    clock::time_point begin;
    clock::time_point end;
};

/// One run, once it has ended.
struct run_event {
    clock::time_point begin;
    clock::time_point end;
    run_stats const* stats = nullptr; ///< The run's counters, times included.
    std::exception_ptr error;         ///< What escaped the run, if anything.
};

/// The observer that only measures: an executor made with it fills the times of its stats
/// (`run_stats::wall_time` and `round_times`, `operation_stats::batch_time` and
/// `longest_batch`). Any other observer does too.
struct timing {};

/// An executor's observer, chosen at compile time: `make_executor<Ops>(batchers...,
/// batch::with_observer(obs))`. Every member is optional: `on_run_begin(clock::time_point)`,
/// `on_round_begin(std::size_t round, clock::time_point)`, `on_batch(batch_event const&)`,
/// `on_round_end(round_event const&)`, `on_run_end(run_event const&)`. An executor without one
/// neither calls anything nor reads the clock. The executor keeps `obs` (moved in), or refers to
/// it when given `std::ref(obs)`; `ex.observer()` reaches it. What an observer throws is dropped.
template <class Observer>
struct observed {
    Observer observer;
};

/// Attaches `obs` to the executor being made (see `observed`).
template <class Observer>
[[nodiscard]] observed<std::unwrap_ref_decay_t<Observer>> with_observer(Observer&& obs) {
    return {std::forward<Observer>(obs)};
}

namespace detail {

template <class T>
inline constexpr bool is_observed_v = false;
template <class Observer>
inline constexpr bool is_observed_v<observed<Observer>> = true;

/// Calls the observer's member for an event, if it has one. What an observer throws is
/// dropped: watching a run never changes how it goes.
struct notify {
    /// True when an observer of type `O` wants each batch (and so a `batch_event` is made).
    template <class O>
    static constexpr bool wants_batch = requires(O& o, batch_event const& e) {
        o.on_batch(e);
    };

    template <class O>
    static void run_begin(O& o, clock::time_point t) noexcept {
        if constexpr (requires { o.on_run_begin(t); }) guarded([&] { o.on_run_begin(t); });
    }
    template <class O>
    static void round_begin(O& o, std::size_t round, clock::time_point t) noexcept {
        if constexpr (requires { o.on_round_begin(round, t); }) guarded([&] { o.on_round_begin(round, t); });
    }
    template <class O>
    static void batch(O& o, batch_event const& e) noexcept {
        if constexpr (requires { o.on_batch(e); }) guarded([&] { o.on_batch(e); });
    }
    template <class O>
    static void round_end(O& o, round_event const& e) noexcept {
        if constexpr (requires { o.on_round_end(e); }) guarded([&] { o.on_round_end(e); });
    }
    template <class O>
    static void run_end(O& o, run_event const& e) noexcept {
        if constexpr (requires { o.on_run_end(e); }) guarded([&] { o.on_run_end(e); });
    }

private:
    template <class F>
    static void guarded(F&& f) noexcept {
        try {
            f();
        } catch (...) {
        }
    }
};

} // namespace detail
} // namespace batch
