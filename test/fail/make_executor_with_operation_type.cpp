// expect: batch: make_executor<Ops> takes the operation set, a batch::operations<...> list
#include "common.hpp"

int runs() {
#ifdef BATCH_COMPILE_FAIL
    auto ex = batch::make_executor<get>(serve_get);
#else
    auto ex = batch::make_executor<ops>(serve_get, serve_put);
#endif
    int const v = ex.run(get{1});
    return v + static_cast<int>(ex.stats().rounds);
}
