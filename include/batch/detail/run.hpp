#pragma once

#include <batch/detail/fwd.hpp>
#include <batch/detail/yield.hpp>
#include <batch/detail/yield_checks.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace batch::detail {

/// The run loop both executors share: `x` (anything `co_yield` accepts) is enrolled as the
/// root, then rounds follow, each resuming every runnable generator and then calling
/// `dispatch_round()` to serve every pending operation, until the root is done. Returns its
/// result or rethrows its exception; whichever way it ends, nothing of the run is left behind.
template <class Ops, class Yielded, class DispatchRound>
auto run(context<Ops>& ctx, Yielded&& x, DispatchRound dispatch_round) {
    using item = std::remove_reference_t<Yielded>;
    if constexpr (!yieldable<std::remove_const_t<item>, Ops>) {
        reject_yield<std::remove_const_t<item>, Ops>();
        return rejected_yield<presumed_result_t<std::remove_const_t<item>>>::await_resume();
    } else {
        ctx.begin_run();
        // Declared before the root, so it runs after the root (and every generator the root
        // owns) is gone: queued handles, pending operations and batcher drivers go last.
        struct end_of_run {
            context<Ops>& ctx;
            ~end_of_run() {
                ctx.clear_buckets();
                ctx.end_run();
            }
        } const guard{ctx};
        yield_awaiter<item, Ops, !std::is_lvalue_reference_v<Yielded>> root(&ctx, std::forward<Yielded>(x));
        try {
            if (root.await_suspend(nullptr)) {
                for (;;) {
                    ctx.drain();
                    if (ctx.fatal()) std::rethrow_exception(ctx.fatal());
                    if (root.done()) break;
                    ctx.begin_round(ctx.idle());
                    dispatch_round();
                }
            }
        } catch (...) {
            // Pending work refers to frames about to go: drop it before releasing them.
            ctx.clear_buckets();
            ctx.release_shared(std::current_exception());
            throw;
        }
        return root.await_resume();
    }
}

} // namespace batch::detail
