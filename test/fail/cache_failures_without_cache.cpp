// expect: batch: cache_failures on this operation .* needs a cache
#include "common.hpp"

struct lookup {
    int id;
    using result_type = int;
#ifdef BATCH_COMPILE_FAIL
    static constexpr bool cache_failures = true; // but not cacheable
#else
    static constexpr bool cacheable = true;
    static constexpr bool cache_failures = true;
#endif
    bool operator==(lookup const&) const = default;
};
template <>
struct std::hash<lookup> : hash_by_id<lookup> {};

int lookup_one() { return run_alone(lookup{1}); }
