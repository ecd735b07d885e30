// expect: batch: the batch_key of this operation .* returning a type that has ==
#include <batch/batch.hpp>

#include <span>
#include <vector>

struct shard {
    int number;
#ifndef BATCH_COMPILE_FAIL
    bool operator==(shard const&) const = default;
#endif
};

struct get_from_shard {
    int shard_number;
    int key;
    using result_type = int;
    shard batch_key() const { return {shard_number}; }
};
using ops = batch::operations<get_from_shard>;

std::vector<int> serve(std::span<get_from_shard const> in) { return std::vector<int>(in.size()); }

int runs() {
    auto ex = batch::make_executor<ops>(serve);
    return ex.run(get_from_shard{1, 2});
}
