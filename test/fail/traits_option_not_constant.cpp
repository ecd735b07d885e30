// expect: batch: max_batch_size on this operation .* must be a compile-time constant of at least 1
#include "common.hpp"

namespace vendor {
struct get_user { // a type the user cannot edit
    int id;
};
} // namespace vendor

template <>
struct batch::operation_traits<vendor::get_user> {
    using result_type = int;
#ifdef BATCH_COMPILE_FAIL
    static constexpr std::size_t max_batch_size = 0; // no call could take an operation
#else
    static constexpr std::size_t max_batch_size = 100;
#endif
};
int runs() { return run_alone(vendor::get_user{1}); }
