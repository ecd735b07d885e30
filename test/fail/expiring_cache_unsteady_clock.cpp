// expect: batch: the cache_policy of this operation .* reads a clock that is not steady
#include "common.hpp"

#include <chrono>

struct lookup {
    int id;
    using result_type = int;
#ifdef BATCH_COMPILE_FAIL
    using cache_policy = batch::expiring_cache<std::chrono::seconds, 30, 0, std::chrono::system_clock>;
#else
    using cache_policy = batch::expiring_cache<std::chrono::seconds, 30, 0, std::chrono::steady_clock>;
#endif
    bool operator==(lookup const&) const = default;
};
template <>
struct std::hash<lookup> : hash_by_id<lookup> {};

int lookup_one() { return run_alone(lookup{1}); }
