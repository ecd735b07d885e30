#pragma once

#include <batch/detail/base/type_name.hpp>
#include <batch/detail/run/bucket.hpp>
#include <batch/detail/run/scheduler.hpp>
#include <batch/observer.hpp>
#include <batch/operation.hpp>
#include <batch/stats.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <string_view>
#include <utility>

namespace batch::detail {

/// What an observed executor measures and tells its observer (`batch::with_observer`): when a
/// run and its rounds begin and end, and each batcher call. An executor without an observer has
/// none of this, reads no clock and calls nothing.
class observation {
public:
    void run_began(auto& observer) noexcept {
        run_begin_ = clock::now();
        notify::run_begin(observer, run_begin_);
    }

    void round_began(auto& observer, scheduler const& s, clock::time_point t) noexcept {
        round_begin_ = t;
        batches_before_ = s.stats().batches;
        cache_hits_before_ = s.stats().cache_hits;
        notify::round_begin(observer, s.stats().rounds, t);
    }

    void round_ended(auto& observer, scheduler& s) noexcept {
        round_event e{s.stats().rounds, s.stats().batches - batches_before_, s.stats().cache_hits - cache_hits_before_,
                      round_begin_, clock::now()};
        try {
            s.round_took(e.end - e.begin);
        } catch (...) { // no memory for one more round time: the stats go without it
        }
        notify::round_end(observer, e);
    }

    void run_ended(auto& observer, scheduler& s, std::exception_ptr error) noexcept {
        run_event e{run_begin_, clock::now(), &s.stats(), std::move(error)};
        s.run_took(e.end - e.begin);
        notify::run_end(observer, e);
    }

    /// A batcher call for `Op` (of `batcher`, made at `started`, in the run of `s`) has ended:
    /// its time is counted, and the observer gets a `batch_event` if it wants one.
    template <class Op, class Batcher, class Call>
    void batch_ended(auto& observer, Batcher const& batcher, scheduler& s, bucket<Op>& b, Call const& c,
                     clock::time_point started, std::exception_ptr error, std::size_t failed, bool async,
                     std::size_t type_index) noexcept {
        clock::time_point const completed = clock::now();
        s.batch_took(b.stats, completed - started);
        if constexpr (notify::wants_batch<std::remove_reference_t<decltype(observer)>>) {
            batch_event e;
            e.operation = type_name_v<Op>;
            if constexpr (requires {
                              { batcher.name() } -> std::convertible_to<std::string_view>;
                          }) {
                e.batcher = batcher.name();
            }
            e.type_index = type_index;
            if constexpr (keyed_operation<Op>) {
                try {
                    if (!c.ops.empty()) e.key = key_text(key_of(c.ops.front()));
                } catch (...) { // a key that cannot be written out is left out
                }
            }
            e.round = s.stats().rounds;
            e.size = c.size();
            e.deduplicated = c.targets.size() - c.size();
            e.failed = failed;
            e.asynchronous = async;
            e.submitted = started;
            e.completed = completed;
            e.error = std::move(error);
            notify::batch(observer, e);
        }
    }

private:
    clock::time_point run_begin_{};
    clock::time_point round_begin_{};
    std::size_t batches_before_ = 0;
    std::size_t cache_hits_before_ = 0;
};

/// What an executor without an observer keeps of `observation`: nothing.
struct no_observation {};

} // namespace batch::detail
