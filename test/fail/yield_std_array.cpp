// expect: batch: a gen cannot yield a std::array; yield a std::vector or a Boost.Hana tuple
#include "common.hpp"

#include <array>

batch::gen<int, ops> pair_of_gets() {
#ifdef BATCH_COMPILE_FAIL
    std::array<get, 2> gets{get{1}, get{2}};
    auto [a, b] = co_yield gets;
    co_return a + b;
#else
    std::vector<get> gets{get{1}, get{2}};
    auto values = co_yield gets;
    co_return values[0] + values[1];
#endif
}
