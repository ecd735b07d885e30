// expect: batch: this executor has no observer; give make_executor one with batch::with_observer
#include "common.hpp"

// A member call on the result would add a second error, in this file: no type takes any member.
template <class Trace>
void keep(Trace&) {}

void trace_one_run() {
#ifdef BATCH_COMPILE_FAIL
    auto ex = batch::make_executor<ops>(serve_get, serve_put);
#else
    auto ex = batch::make_executor<ops>(serve_get, serve_put, batch::with_observer(batch::trace_writer{}));
#endif
    ex.run(get{1});
    keep(ex.observer());
}
