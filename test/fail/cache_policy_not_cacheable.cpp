// expect: batch: this operation .* has a cache_policy but says cacheable = false
#include "common.hpp"

struct lookup {
    int id;
    using result_type = int;
    using cache_policy = batch::lru_cache<100>;
#ifdef BATCH_COMPILE_FAIL
    static constexpr bool cacheable = false;
#endif
    bool operator==(lookup const&) const = default;
};
template <>
struct std::hash<lookup> : hash_by_id<lookup> {};

int lookup_one() { return run_alone(lookup{1}); }
