// expect: batch: a gen yields sequences of work only as a std::vector .* put these items in a std::vector
#include "common.hpp"

#include <list>

batch::gen<int, ops> gets() {
#ifdef BATCH_COMPILE_FAIL
    std::list<get> gets{get{1}, get{2}};
#else
    std::vector<get> gets{get{1}, get{2}};
#endif
    auto values = co_yield gets;
    int sum = 0;
    for (int v : values) sum += v;
    co_return sum;
}
