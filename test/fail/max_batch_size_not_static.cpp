// expect: batch: max_batch_size on this operation .* must be a compile-time constant of at least 1
#include <batch/batch.hpp>

#include <cstddef>
#include <span>
#include <vector>

struct get_user {
    int id;
    using result_type = int;
#ifdef BATCH_COMPILE_FAIL
    std::size_t max_batch_size = 100;
#else
    static constexpr std::size_t max_batch_size = 100;
#endif
};
using ops = batch::operations<get_user>;

std::vector<int> serve(std::span<get_user const> in) { return std::vector<int>(in.size()); }

int runs() {
    auto ex = batch::make_executor<ops>(serve);
    return ex.run(get_user{1});
}
