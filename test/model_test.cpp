#define BOOST_TEST_MODULE model
// Model-based testing (see model/): random programs of generators that yield operations (one
// type cached), fan out (plainly or settled), throw, catch, share generators (batch::share and
// memoised functions), and prime and forget cached results, with batchers that fail at random,
// run through both executors and through a reference model. A failing seed
// is printed; BATCH_MODEL_SEED=n reruns it, BATCH_MODEL_PROGRAMS=n sets how many programs run.
#include "model/check.hpp"
#include "model/source.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <string>

BOOST_AUTO_TEST_CASE(random_programs_agree_with_the_model) {
    unsigned first = 1;
    unsigned count = 20000;
    if (char const* seed = std::getenv("BATCH_MODEL_SEED")) {
        first = static_cast<unsigned>(std::stoul(seed));
        count = 1;
    }
    if (char const* n = std::getenv("BATCH_MODEL_PROGRAMS")) count = static_cast<unsigned>(std::stoul(n));

    unsigned checked = 0, failing = 0, sharing = 0, hitting = 0, settling = 0, priming = 0;
    for (unsigned seed = first; seed < first + count; ++seed) {
        model::random_source src(seed);
        auto const program = model::make_program(src);
        auto const v = model::check(program);
        if (!v.mismatch.empty()) {
            BOOST_ERROR("seed " << seed << " (rerun with BATCH_MODEL_SEED=" << seed << "): " << v.mismatch);
            break;
        }
        ++checked;
        if (v.first_run.failed) ++failing;
        if (!program.entries.empty()) ++sharing;
        if (v.cache_hits > 0) ++hitting;
        if (model::uses(program, model::step::settle)) ++settling;
        if (model::uses(program, model::step::prime) || model::uses(program, model::step::forget)) ++priming;
    }
    BOOST_TEST(checked == count);
    BOOST_TEST_MESSAGE(checked << " programs checked, " << failing << " ending in a failure, " << sharing
                               << " with shared or memoised generators, " << hitting << " with cache hits, " << settling
                               << " with settled yields, " << priming << " priming or forgetting");
    // Every kind of program is exercised: failing and successful ones, with and without sharing,
    // cache hits, settled yields, primes and forgets.
    BOOST_TEST(failing > count / 10);
    BOOST_TEST(failing < count);
    BOOST_TEST(sharing > count / 2);
    BOOST_TEST(hitting > count / 4);
    BOOST_TEST(settling > count / 4);
    BOOST_TEST(priming > count / 4);
}
