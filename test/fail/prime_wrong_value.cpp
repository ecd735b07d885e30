// expect: batch: prime's value must convert to the result_type
#include "common.hpp"

struct cached_get {
    int id;
    using result_type = int;
    static constexpr bool cacheable = true;
    bool operator==(cached_get const&) const = default;
};
template <>
struct std::hash<cached_get> : hash_by_id<cached_get> {};

bool prime_text() {
    auto ex = batch::make_executor<batch::operations<cached_get>>(
        [](std::span<cached_get const> in) { return std::vector<int>(in.size()); });
#ifdef BATCH_COMPILE_FAIL
    return ex.prime(cached_get{1}, "five");
#else
    return ex.prime(cached_get{1}, 5);
#endif
}
