#pragma once

// The verdict: a program runs twice through each executor, its shared generators and memo cache
// kept across both runs, and must agree with the model on its outcome, its rounds and its
// batcher calls per type.

#include "../worlds.hpp"
#include "execution.hpp"
#include "interpreter.hpp"
#include "program.hpp"

#include <array>
#include <cstddef>
#include <sstream>
#include <string>
#include <utility>

namespace model {

/// What both runs of a program must give: the second finds the shared generators the first
/// finished already done.
using expectations = std::array<expected, 2>;

/// Runs `p` twice on one executor of `World`, its shared generators and memo cache kept across
/// both runs, and compares each run with `want`. Empty if they agree, else what differs.
template <class World>
std::string check_in(program const& p, expectations const& want) {
    World w(program_rules{&p.r});
    instance<World> in(p, w);
    for (std::size_t pass = 0; pass < want.size(); ++pass) {
        auto const& e = want[pass];
        w.new_run();
        outcome got;
        try {
            got = {false, w.ex.run(in.root())};
        } catch (...) {
            got = {true, code_of(std::current_exception())};
        }
        std::size_t const rounds = w.ex.stats().rounds;
        if (got != e.result || rounds != e.rounds || w.calls(0) != e.calls[0] || w.calls(1) != e.calls[1]) {
            std::ostringstream out;
            out << World::name << " executor, run " << pass + 1 << ": expected "
                << (e.result.failed ? "failure " : "value ") << e.result.value << ", " << e.rounds << " rounds, calls "
                << e.calls[0] << "/" << e.calls[1] << "; got " << (got.failed ? "failure " : "value ") << got.value
                << ", " << rounds << " rounds, calls " << w.calls(0) << "/" << w.calls(1) << "\n"
                << describe(p);
            return out.str();
        }
    }
    return {};
}

/// The result of checking a program: what differs (empty if the executors agree with the
/// model), and what the model says of its first run.
struct verdict {
    std::string mismatch;
    outcome first_run;
};

/// Checks `p` against both executors, the typed one also with an asynchronous batcher.
inline verdict check(program const& p) {
    auto const first = evaluator(p, {}).run();
    expectations const want{first, evaluator(p, first.kept).run()};
    if (!want[0].converged || !want[1].converged) {
        return {"the model found no schedule for its shared generators\n" + describe(p), first.result};
    }
    auto why = check_in<typed_world>(p, want);
    if (why.empty()) why = check_in<async_world>(p, want);
    if (why.empty()) why = check_in<dynamic_world>(p, want);
    return {std::move(why), first.result};
}

} // namespace model
