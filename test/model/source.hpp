#pragma once

// Where a random program's choices come from: a seeded generator (the model test) or the bytes
// of a fuzzer's input (the fuzz target).

#include <cstddef>
#include <cstdint>
#include <random>

namespace model {

/// Choices from a seeded generator: the model test.
struct random_source {
    std::mt19937 r;
    explicit random_source(unsigned seed) : r(seed) {}
    unsigned pick(unsigned n) { return static_cast<unsigned>(r() % n); }
};

/// Choices read from bytes, then zeros once they run out: the fuzz target.
struct byte_source {
    std::uint8_t const* data;
    std::size_t size;
    unsigned pick(unsigned n) {
        if (size == 0) return 0;
        unsigned v = *data++;
        --size;
        if (n > 256 && size > 0) {
            v = v << 8 | *data++;
            --size;
        }
        return v % n;
    }
};

} // namespace model
