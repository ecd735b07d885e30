// expect: batch: a batch::gen is move-only .* std::move it
#include "common.hpp"

#include <utility>

batch::gen<int, ops> one(int k) {
    int const v = co_yield get{k};
    co_return v;
}

batch::gen<int, ops> twice(batch::gen<int, ops> g) {
    int const v = co_yield std::move(g);
    co_return 2 * v;
}

batch::gen<int, ops> caller() {
    auto g = one(1);
#ifdef BATCH_COMPILE_FAIL
    int const v = co_yield twice(g); // a copy of a generator that runs once
#else
    int const v = co_yield twice(std::move(g));
#endif
    co_return v;
}
