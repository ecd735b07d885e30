// expect: batch: a deduplicate or cacheable operation .* needs ==
#include "common.hpp"

struct get_user {
    int id;
    using result_type = int;
    static constexpr bool deduplicate = true;
#ifndef BATCH_COMPILE_FAIL
    bool operator==(get_user const&) const = default;
#endif
};
template <>
struct std::hash<get_user> : hash_by_id<get_user> {};
int runs() { return run_alone(get_user{1}); }
