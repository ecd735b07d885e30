// expect: batch: a batch::dynamic::gen yields runtime-typed operations
#include "common.hpp"

#include <batch/dynamic/executor.hpp>

struct dynamic_get final : batch::dynamic::operation_of<int> {
    int key;
    batch::dynamic::batcher* server;
    dynamic_get(int k, batch::dynamic::batcher* s) : key(k), server(s) {}
    batch::dynamic::batcher& get_batcher() const override { return *server; }
};

batch::dynamic::gen<int> one(batch::dynamic::batcher* server) {
#ifdef BATCH_COMPILE_FAIL
    static_cast<void>(server);
    int const v = co_yield get{1};
#else
    int const v = co_yield dynamic_get(1, server);
#endif
    co_return v;
}
