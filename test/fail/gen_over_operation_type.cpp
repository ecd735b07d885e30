// expect: batch: the second argument of batch::gen<T, Ops> must be a batch::operations<...> list
#include <batch/batch.hpp>
struct get {
    int key;
    using result_type = int;
};
#ifdef BATCH_COMPILE_FAIL
batch::gen<int, get> one() {
#else
batch::gen<int, batch::operations<get>> one() {
#endif
    int const v = co_yield get{1};
    co_return v;
}
