// expect: batch: the dynamic executor keeps no cache
#include "common.hpp"

#include <batch/dynamic/executor.hpp>

bool prime_dynamic() {
    batch::dynamic::executor ex;
#ifdef BATCH_COMPILE_FAIL
    return ex.prime(get{1}, 2);
#else
    return ex.stats().rounds == 0;
#endif
}
