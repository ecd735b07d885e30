#pragma once

// Counts heap allocations and live bytes through a replaced global operator new.

#include <cstddef>

namespace bench {

struct allocation_counts {
    std::size_t allocations;
    std::size_t live_bytes;
    std::size_t peak_bytes;
};

/// The counters so far, for this process (single-threaded benchmarks).
allocation_counts allocations() noexcept;

/// Makes the current live bytes the new peak, to measure the peak of what follows.
void reset_peak() noexcept;

} // namespace bench
