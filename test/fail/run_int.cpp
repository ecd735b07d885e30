// expect: batch: a gen cannot yield this type
#include "common.hpp"

int runs() {
    auto ex = batch::make_executor<ops>(serve_get, serve_put);
#ifdef BATCH_COMPILE_FAIL
    return ex.run(42);
#else
    return ex.run(get{42});
#endif
}
