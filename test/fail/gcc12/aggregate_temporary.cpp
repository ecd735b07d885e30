// expect: batch: GCC 12 miscompiles an aggregate with non-trivial members
#include "../common.hpp"

#include <string>

struct lookup {
#ifndef BATCH_COMPILE_FAIL
    explicit lookup(std::string n) : name(std::move(n)) {}
#endif
    std::string name;
    using result_type = int;
};

batch::gen<int, batch::operations<lookup>> yields() {
    int x = co_yield lookup{"a name longer than the small-string buffer"};
    co_return x;
}
