// expect: batch: a gen cannot yield this type
#include "common.hpp"

#include <string>

batch::gen<std::size_t, ops> yields() {
#ifdef BATCH_COMPILE_FAIL
    std::vector<std::string> names{"a", "b"};
#else
    std::vector<get> names{get{1}, get{2}};
#endif
    auto out = co_yield std::move(names);
    co_return out.size();
}
