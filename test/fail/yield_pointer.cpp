// expect: batch: a gen cannot yield this type
#include "common.hpp"

batch::gen<int, ops> yields(get* op) {
#ifdef BATCH_COMPILE_FAIL
    int x = co_yield op;
#else
    int x = co_yield *op;
#endif
    co_return x;
}
