// expect: batch: prime, forget and cache_of need a cached operation type
#include "common.hpp"

bool prime_one() {
    auto ex = batch::make_executor<ops>(serve_get, serve_put);
#ifdef BATCH_COMPILE_FAIL
    return ex.prime(get{1}, 2); // get is not cacheable
#else
    return ex.run(get{1}) == 0;
#endif
}
