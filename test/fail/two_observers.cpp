// expect: batch: make_executor got two observers
#include "common.hpp"

int runs() {
#ifdef BATCH_COMPILE_FAIL
    auto ex = batch::make_executor<ops>(serve_get, serve_put, batch::with_observer(batch::timing{}),
                                        batch::with_observer(batch::trace_writer{}));
#else
    auto ex = batch::make_executor<ops>(serve_get, serve_put, batch::with_observer(batch::timing{}));
#endif
    return ex.run(get{1});
}
