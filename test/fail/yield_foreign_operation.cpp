// expect: batch: this operation type is not in the generator's batch::operations
#include "common.hpp"

batch::gen<int, ops> yields() {
#ifdef BATCH_COMPILE_FAIL
    int x = co_yield elsewhere{1};
#else
    int x = co_yield get{1};
#endif
    co_return x;
}
