// expect: batch: redis::get/cluster_get read strings: .*pass a decoder
#include "common.hpp"

std::optional<std::int64_t> count(rd::connection const& c) {
#ifdef BATCH_COMPILE_FAIL
    return run_with(rd::get<get_count>(c, &get_count::key), get_count{"visits"});
#else
    return run_with(rd::get<get_count>(c, &get_count::key, decode_count), get_count{"visits"});
#endif
}
