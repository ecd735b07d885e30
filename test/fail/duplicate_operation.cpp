// expect: batch: batch::operations<...> lists the same operation type twice
#include "common.hpp"

#ifdef BATCH_COMPILE_FAIL
using twice = batch::operations<get, put, get>;
#else
using twice = batch::operations<get, put>;
#endif

batch::gen<int, twice> yields() { co_return 1; }
