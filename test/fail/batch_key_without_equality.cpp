// expect: batch: the batch_key of this operation .* returning a type that has ==
#include "common.hpp"

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
int runs() { return run_alone(get_from_shard{1, 2}); }
