// expect: batch: deduplicate, cacheable and cache_failures on this operation .* must be compile-time constants
#include "common.hpp"

struct get_user {
    int id;
    using result_type = int;
#ifdef BATCH_COMPILE_FAIL
    bool cacheable = true; // a data member: every object would carry it, and the executor cannot read it
#else
    static constexpr bool cacheable = true;
#endif
    bool operator==(get_user const&) const = default;
};
template <>
struct std::hash<get_user> : hash_by_id<get_user> {};
int runs() { return run_alone(get_user{1}); }
