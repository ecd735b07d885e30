// expect: batch: a gen cannot yield a generator over a different operation set
#include "common.hpp"

batch::gen<int, other_ops> other() { co_return 1; }
batch::gen<int, ops> same() { co_return 1; }

batch::gen<int, ops> yields() {
#ifdef BATCH_COMPILE_FAIL
    int x = co_yield other();
#else
    int x = co_yield same();
#endif
    co_return x;
}
