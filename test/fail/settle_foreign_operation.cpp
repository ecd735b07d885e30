// expect: batch: this operation type is not in the generator's batch::operations<...> list
#include "common.hpp"

#include <boost/hana/tuple.hpp>

batch::gen<int, ops> settled_sum() {
#ifdef BATCH_COMPILE_FAIL
    auto [a, b] = co_yield batch::settle(boost::hana::make_tuple(get{1}, elsewhere{2}));
#else
    auto [a, b] = co_yield batch::settle(boost::hana::make_tuple(get{1}, get{2}));
#endif
    co_return (a.has_value() ? a.value() : 0) + (b.has_value() ? b.value() : 0);
}
