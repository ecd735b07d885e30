// expect: batch: max_batch_size on the batcher for this operation type .* must be a compile-time constant
#include "common.hpp"

#include <cstddef>

struct limited_get_batcher {
#ifdef BATCH_COMPILE_FAIL
    std::size_t max_batch_size = 10;
#else
    static constexpr std::size_t max_batch_size = 10;
#endif
    std::vector<int> operator()(std::span<get const> in) const { return std::vector<int>(in.size()); }
};

int runs() {
    auto ex = batch::make_executor<ops>(limited_get_batcher{}, serve_put);
    return ex.run(get{1});
}
