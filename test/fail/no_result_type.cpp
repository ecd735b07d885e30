// expect: batch: every type in batch::operations<...> must be an operation
#include "common.hpp"

struct no_result {
    int key;
#ifndef BATCH_COMPILE_FAIL
    using result_type = int;
#endif
};

batch::gen<int, batch::operations<no_result>> yields() { co_return 1; }
