// expect: batch: redis::get/cluster_get: key_of\(op\) must give a string or an integer
#include "common.hpp"

std::optional<std::int64_t> count(rd::connection const& c) {
#ifdef BATCH_COMPILE_FAIL
    auto key_of = [](get_count const& g) { return std::optional<std::string>(g.key); };
#else
    auto key_of = [](get_count const& g) { return g.key; };
#endif
    return run_with(rd::get<get_count>(c, key_of, decode_count), get_count{"visits"});
}
