// expect: batch: max_batch_size on this operation .* must be a compile-time constant of at least 1
#include "common.hpp"

struct get_user {
    int id;
    using result_type = int;
#ifdef BATCH_COMPILE_FAIL
    std::size_t max_batch_size = 100;
#else
    static constexpr std::size_t max_batch_size = 100;
#endif
};
int runs() { return run_alone(get_user{1}); }
