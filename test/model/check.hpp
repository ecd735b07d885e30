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
#include <optional>
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
std::string check_in(program const& p, expectations const& want, std::size_t* cache_hits = nullptr) {
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
        if (cache_hits) *cache_hits += w.ex.stats().cache_hits;
        if (got != e.result || rounds != e.rounds || w.calls(0) != e.calls[0] || w.calls(1) != e.calls[1]
            || w.calls(2) != e.calls[2]) {
            std::ostringstream out;
            out << World::name << " executor, run " << pass + 1 << ": expected "
                << (e.result.failed ? "failure " : "value ") << e.result.value << ", " << e.rounds << " rounds, calls "
                << e.calls[0] << "/" << e.calls[1] << "/" << e.calls[2] << "; got "
                << (got.failed ? "failure " : "value ") << got.value << ", " << rounds << " rounds, calls "
                << w.calls(0) << "/" << w.calls(1) << "/" << w.calls(2) << "\n"
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
    std::size_t cache_hits = 0; ///< In the typed executor's two runs.
};

/// What the model says of both runs of `p`, with or without a cache for `c`; empty when it
/// found no schedule.
inline std::optional<expectations> expect(program const& p, bool caching) {
    auto const first = evaluator(p, {}, {}, caching).run();
    expectations const want{first, evaluator(p, first.kept, first.cache, caching).run()};
    if (!want[0].converged || !want[1].converged) return std::nullopt;
    return want;
}

/// Checks `p` against both executors, the typed one also with an asynchronous batcher (the
/// typed executor caches `c`; the dynamic baseline has no cache).
inline verdict check(program const& p) {
    auto const cached = expect(p, true);
    auto const uncached = expect(p, false);
    if (!cached || !uncached) return {"the model found no schedule\n" + describe(p), {}};
    std::size_t hits = 0;
    auto why = check_in<typed_world>(p, *cached, &hits);
    if (why.empty()) why = check_in<async_world>(p, *cached);
    if (why.empty()) why = check_in<dynamic_world>(p, *uncached);
    return {std::move(why), (*cached)[0].result, hits};
}

} // namespace model
