// expect: batch: batch::shared<T, Ops> gives its result to every yield, so T must be copyable
#include "common.hpp"

#include <memory>

#ifdef BATCH_COMPILE_FAIL
using owned = std::unique_ptr<int>;
#else
using owned = std::shared_ptr<int>;
#endif

batch::gen<owned, ops> make(int k) {
    int const v = co_yield get{k};
    co_return owned(new int(v));
}

batch::gen<int, ops> twice() {
    auto const shared = batch::share(make(1));
    auto [a, b] = co_yield boost::hana::make_tuple(shared, shared);
    co_return *a + *b;
}
