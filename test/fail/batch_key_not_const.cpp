// expect: batch: the batch_key of this operation .* cannot group it: declare 'batch_key\(\) const'
#include "common.hpp"

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
int runs() { return run_alone(get_from_shard{1, 2}); }
