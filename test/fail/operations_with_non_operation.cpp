// expect: batch: this operation type .* has no result type
#include "common.hpp"

#ifdef BATCH_COMPILE_FAIL
using mixed = batch::operations<get, int>;
#else
using mixed = batch::operations<get, put>;
#endif

batch::gen<int, mixed> one() {
    int const v = co_yield get{1};
    co_return v;
}
