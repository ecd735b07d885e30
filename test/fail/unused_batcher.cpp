// expect: batch: make_executor got a batcher that serves no operation
#include "common.hpp"

int runs() {
#ifdef BATCH_COMPILE_FAIL
    auto ex = batch::make_executor<ops>(serve_get, serve_put, serve_elsewhere);
#else
    auto ex = batch::make_executor<ops>(serve_get, serve_put);
#endif
    return ex.run(get{1});
}
