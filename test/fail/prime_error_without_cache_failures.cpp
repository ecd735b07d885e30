// expect: batch: prime_error needs an operation type .* whose cache keeps failures
#include "common.hpp"

#include <stdexcept>

struct cached_get {
    int id;
    using result_type = int;
    static constexpr bool cacheable = true;
    bool operator==(cached_get const&) const = default;
};
template <>
struct std::hash<cached_get> : hash_by_id<cached_get> {};

bool prime_failure() {
    auto ex = batch::make_executor<batch::operations<cached_get>>(
        [](std::span<cached_get const> in) { return std::vector<int>(in.size()); });
#ifdef BATCH_COMPILE_FAIL
    return ex.prime_error(cached_get{1}, std::make_exception_ptr(std::runtime_error("gone")));
#else
    return ex.prime(cached_get{1}, 5);
#endif
}
