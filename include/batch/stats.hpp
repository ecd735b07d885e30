#pragma once

#include <cstddef>

namespace batch {

/// Counters describing one run of an executor.
struct run_stats {
    std::size_t rounds = 0;        ///< Dispatch phases: the dependency depth of the program.
    std::size_t batches = 0;       ///< Batcher calls.
    std::size_t operations = 0;    ///< Operations passed to batchers.
    std::size_t generators = 0;    ///< Generators started.
    std::size_t largest_batch = 0; ///< Operations in the largest batcher call.
    std::size_t deduplicated = 0;  ///< Identical operations answered by another one's batcher slot.
    std::size_t cache_hits = 0;    ///< Operations answered from the executor's cache.
};

/// Counters for one operation type in one run.
struct operation_stats {
    std::size_t batches = 0;      ///< Batcher calls for this operation type.
    std::size_t operations = 0;   ///< Operations of this type passed to its batcher.
    std::size_t deduplicated = 0; ///< Identical operations of this type not passed again.
    std::size_t cache_hits = 0;   ///< Operations of this type answered from the cache.
};

} // namespace batch
