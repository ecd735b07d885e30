// expect: batch: make_executor got no batcher for this operation type.*Op = put|wrong<put>
#include "common.hpp"

int runs() {
#ifdef BATCH_COMPILE_FAIL
    auto ex = batch::make_executor<ops>(serve_get);
#else
    auto ex = batch::make_executor<ops>(serve_get, serve_put);
#endif
    return ex.run(get{1});
}
