// expect: batch: this operation type .* has no result type
#include "common.hpp"

struct no_result {
    int key;
#ifndef BATCH_COMPILE_FAIL
    using result_type = int;
#endif
};

batch::gen<int, batch::operations<no_result>> yields() { co_return 1; }
