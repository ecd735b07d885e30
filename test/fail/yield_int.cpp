// expect: batch: a gen cannot yield this type.*Yielded = int|wrong<int>
#include "common.hpp"

batch::gen<int, ops> yields() {
#ifdef BATCH_COMPILE_FAIL
    int x = co_yield 42;
#else
    int x = co_yield get{42};
#endif
    co_return x;
}
