// expect: batch: stats_of<Op> names an operation type .* that is not in this executor's
#include "common.hpp"

std::size_t calls() {
    auto ex = batch::make_executor<ops>(serve_get, serve_put);
    ex.run(get{1});
#ifdef BATCH_COMPILE_FAIL
    return ex.stats_of<elsewhere>().batches;
#else
    return ex.stats_of<get>().batches;
#endif
}
