// expect: batch: make_executor is for typed operations; generators over batch::dynamic::ops run on a
// batch::dynamic::executor
#include "common.hpp"

#include <batch/dynamic/executor.hpp>

batch::dynamic::gen<int> nothing_to_do() { co_return 1; }

int runs() {
#ifdef BATCH_COMPILE_FAIL
    auto ex = batch::make_executor<batch::dynamic::ops>();
#else
    batch::dynamic::executor ex;
#endif
    int const v = ex.run(nothing_to_do());
    return v + static_cast<int>(ex.stats().rounds);
}
