// expect: batch: a gen cannot yield a std::tuple or std::pair; yield a Boost.Hana tuple
#include "common.hpp"

#include <tuple>

batch::gen<int, ops> pair_of_gets() {
#ifdef BATCH_COMPILE_FAIL
    auto [a, b] = co_yield std::make_tuple(get{1}, get{2});
#else
    auto [a, b] = co_yield boost::hana::make_tuple(get{1}, get{2});
#endif
    co_return a + b;
}
