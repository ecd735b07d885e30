// expect: batch: a cacheable operation .* is kept as the key of its cached result, so it must be copyable
#include "common.hpp"

#include <memory>

struct get_user {
    explicit get_user(int i) : id(i) {}
    int id;
#ifdef BATCH_COMPILE_FAIL
    std::unique_ptr<int> trace; // makes the operation move-only
#endif
    using result_type = int;
    static constexpr bool cacheable = true;
    bool operator==(get_user const& o) const { return id == o.id; }
};
template <>
struct std::hash<get_user> : hash_by_id<get_user> {};
int runs() { return run_alone(get_user{1}); }
