#pragma once

#include <batch/detail/base/fwd.hpp>
#include <batch/detail/run/scheduler.hpp>

#include <exception>
#include <functional>
#include <type_traits>
#include <utility>

namespace batch::detail {

/// The coroutine that owns the call of a generator batcher while the batcher's generator runs
/// (so the span it was given stays valid), then hands the results to `deliver`, or hands what
/// the generator or `deliver` threw to `fail`. `start(call)` makes the batcher's generator;
/// `deliver(call, results)` (or `deliver(call)` for `void` results) checks and delivers them;
/// `fail(call, error)` fails every operation of the call. Both executors start one per
/// generator-batcher call.
template <class Ops, class Call, class Start, class Deliver, class Fail>
gen<void, Ops> drive_generator_batcher(Call call, Start start, Deliver deliver, Fail fail) {
    using results_t = typename std::invoke_result_t<Start&, Call const&>::value_type;
    std::exception_ptr failure;
    try {
        if constexpr (std::is_void_v<results_t>) {
            co_yield start(std::as_const(call));
            deliver(call);
        } else {
            results_t results = co_yield start(std::as_const(call));
            deliver(call, std::move(results));
        }
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) fail(call, failure);
}

/// Starts `driver` in this round of the run of `ctx`, which owns it from now on.
template <class Ops>
void start_driver(context<Ops>& ctx, gen<void, Ops> driver) {
    auto const h = gen_access::release(driver);
    h.promise().start(ctx, nullptr);
    ctx.adopt_driver(h);
}

} // namespace batch::detail
