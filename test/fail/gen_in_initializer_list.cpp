// expect: batch: a batch::gen is move-only .* not from an initializer list
#include "common.hpp"

batch::gen<int, ops> one(int k) {
    int const v = co_yield get{k};
    co_return v;
}

batch::gen<int, ops> two() {
#ifdef BATCH_COMPILE_FAIL
    std::vector<batch::gen<int, ops>> kids{one(1), one(2)};
#else
    std::vector<batch::gen<int, ops>> kids;
    kids.push_back(one(1));
    kids.push_back(one(2));
#endif
    auto values = co_yield std::move(kids);
    co_return values[0] + values[1];
}
