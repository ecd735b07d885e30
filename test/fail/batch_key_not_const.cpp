// expect: batch: the batch_key of this operation .* cannot group it: declare 'batch_key\(\) const'
#include <batch/batch.hpp>

#include <span>
#include <vector>

struct get_from_shard {
    int shard;
    int key;
    using result_type = int;
#ifdef BATCH_COMPILE_FAIL
    int batch_key() { return shard; } // not const: it would be ignored, and shards mixed
#else
    int batch_key() const { return shard; }
#endif
};
using ops = batch::operations<get_from_shard>;

std::vector<int> serve(std::span<get_from_shard const> in) { return std::vector<int>(in.size()); }

int runs() {
    auto ex = batch::make_executor<ops>(serve);
    return ex.run(get_from_shard{1, 2});
}
