// expect: batch: this operation type is not in the generator's batch::operations
#include "common.hpp"

#include <boost/hana/tuple.hpp>

batch::gen<int, ops> yields() {
#ifdef BATCH_COMPILE_FAIL
    auto [a, b] = co_yield boost::hana::make_tuple(get{1}, elsewhere{2});
#else
    auto [a, b] = co_yield boost::hana::make_tuple(get{1}, get{2});
#endif
    co_return a + b;
}
