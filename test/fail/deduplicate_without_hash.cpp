// expect: batch: a deduplicate or cacheable operation .* needs a hash: give it a member 'std::size_t hash\(\) const', a
// friend 'std::size_t hash_value\(Op const&\)', or specialise std::hash for it
#include "common.hpp"

#include <functional>

struct merged {
    int key;
    using result_type = int;
    static constexpr bool deduplicate = true;
    bool operator==(merged const&) const = default;
};

#ifndef BATCH_COMPILE_FAIL
template <>
struct std::hash<merged> {
    std::size_t operator()(merged const& m) const noexcept { return std::hash<int>{}(m.key); }
};
#endif

int runs() {
    auto ex = batch::make_executor<batch::operations<merged>>(
        [](std::span<merged const> in) { return std::vector<int>(in.size()); });
    return ex.run(merged{1});
}
