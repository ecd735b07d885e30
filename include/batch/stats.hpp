#pragma once

#include <batch/detail/base/clock.hpp>

#include <cstddef>
#include <vector>

namespace batch {

/// Counters describing one run of an executor. The times are measured only by an executor that
/// has an observer (`batch::with_observer(batch::timing{})` measures and does nothing else);
/// without one they stay zero and empty.
struct run_stats {
    std::size_t rounds = 0;                          ///< Dispatch phases: the dependency depth of the program.
    std::size_t batches = 0;                         ///< Batcher calls.
    std::size_t operations = 0;                      ///< Operations passed to batchers.
    std::size_t generators = 0;                      ///< Generators started.
    std::size_t largest_batch = 0;                   ///< Operations in the largest batcher call.
    std::size_t deduplicated = 0;                    ///< Identical operations answered by another one's batcher slot.
    std::size_t cache_hits = 0;                      ///< Operations answered from the executor's cache.
    std::size_t cache_evictions = 0;                 ///< Results a bounded cache dropped to make room.
    std::size_t cache_expiries = 0;                  ///< Results dropped because they had expired.
    std::chrono::steady_clock::duration wall_time{}; ///< From the start of the run to its end.
    std::vector<std::chrono::steady_clock::duration>
        round_times; ///< Each round, from its generators to its last batch.
};

/// Counters for one operation type in one run.
struct operation_stats {
    std::size_t batches = 0;         ///< Batcher calls for this operation type.
    std::size_t operations = 0;      ///< Operations of this type passed to its batcher.
    std::size_t deduplicated = 0;    ///< Identical operations of this type not passed again.
    std::size_t cache_hits = 0;      ///< Operations of this type answered from the cache.
    std::size_t cache_evictions = 0; ///< Its results a bounded cache dropped to make room.
    std::size_t cache_expiries = 0;  ///< Its results dropped because they had expired.
    std::chrono::steady_clock::duration
        batch_time{}; ///< All its calls, from start to delivery (measured with an observer).
    std::chrono::steady_clock::duration longest_batch{}; ///< Its longest call (likewise).
};

} // namespace batch
