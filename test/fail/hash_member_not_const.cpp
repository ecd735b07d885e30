// expect: batch: a deduplicate or cacheable operation .* needs a hash: give it a member 'std::size_t hash\(\) const'
#include "common.hpp"

#include <cstddef>

struct get_user {
    int id;
    using result_type = int;
    static constexpr bool deduplicate = true;
    bool operator==(get_user const&) const = default;
#ifdef BATCH_COMPILE_FAIL
    std::size_t hash() { return static_cast<std::size_t>(id); } // not const: the library hashes const operations
#else
    std::size_t hash() const { return static_cast<std::size_t>(id); }
#endif
};
int runs() { return run_alone(get_user{1}); }
