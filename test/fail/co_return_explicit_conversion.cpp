// expect: batch: co_return gives the generator's result as 'return' would
#include "common.hpp"

#include <cstdint>
#include <vector>

// `co_return id;` must not build a vector of `id` zeros through vector's explicit constructor.
batch::gen<std::vector<std::int64_t>, ops> ids(std::int64_t id) {
    int const got = co_yield get{static_cast<int>(id)};
#ifdef BATCH_COMPILE_FAIL
    co_return id + got;
#else
    co_return std::vector<std::int64_t>{id + got};
#endif
}
