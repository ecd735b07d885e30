// expect: batch: redis::get/cluster_get: the decoder must return the operation's result_type
#include "common.hpp"

std::optional<std::int64_t> count(rd::connection const& c) {
#ifdef BATCH_COMPILE_FAIL
    auto decode = [](std::string_view v) { return std::string(v); };
#else
    auto decode = [](std::string_view v) { return decode_count(v); };
#endif
    return run_with(rd::get<get_count>(c, &get_count::key, decode), get_count{"visits"});
}
