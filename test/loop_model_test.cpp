#define BOOST_TEST_MODULE loop_model
// The model test for requests submitted together (see model/): random programs, ten at a time,
// submitted at once to one batch::asio::loop, whose batcher calls then carry the operations of
// all ten. Each must give what the model says it gives alone: its own result or failure, its
// own cache (the cached type `c` is cached per request), its own shared generators. With plain
// batchers, with an asynchronous batcher for `a`, and in completion order. The programs' rules
// here fail single operations but never a whole call (which would tie one request's outcome to
// which others shared the call) and never prime or forget (a request's executor is the loop's).
// A failing seed is printed; BATCH_MODEL_SEED=n reruns its group.
#include <utility>

#include "model/check.hpp"
#include "model/source.hpp"

#include <batch/asio/loop.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

/// The world of a program on a loop: the typed world's operations; the loop owns the executors.
struct loop_world {
    using value_type = std::int64_t;
    template <int Type>
    using op = test::world_op<Type, value_type>;
    using ops = batch::operations<op<0>, op<1>, op<2>>;
    template <class T>
    using gen = batch::gen<T, ops>;
    using a_op = op<0>;
    using b_op = op<1>;
    using c_op = op<2>;

    static a_op a(int key) { return {key}; }
    static b_op b(int key) { return {key}; }
    static c_op c(int key) { return {key}; }

    bool prime(int, value_type) { throw std::logic_error("loop programs do not prime"); }
    bool forget(int) { throw std::logic_error("loop programs do not forget"); }
};

/// Rules that never fail a whole call; single operations fail by key.
model::rules call_safe_rules() {
    model::rules r;
    r.throw_hit = r.throw_mod;       // a remainder never equals its modulus
    r.miscount_hit = r.miscount_mod; // likewise
    return r;
}

struct answers {
    model::rules r = call_safe_rules();

    std::vector<batch::outcome<std::int64_t>> operator()(int type, std::span<int const> keys) const {
        return model::program_rules{&r}.answer(type, keys, 0);
    }
};

template <int Type>
struct plain_batcher {
    std::shared_ptr<answers> rule;
    std::vector<batch::outcome<std::int64_t>> operator()(std::span<loop_world::op<Type> const> in) const {
        std::vector<int> keys;
        for (auto const& o : in) keys.push_back(o.key);
        return (*rule)(Type, keys);
    }
};

struct async_a_batcher {
    std::shared_ptr<answers> rule;
    test::piped_batch<std::int64_t, answers> submit(std::span<loop_world::a_op const> in) const {
        std::vector<int> keys;
        for (auto const& o : in) keys.push_back(o.key);
        return {(*rule)(0, keys), 2, rule.get()};
    }
};

/// One program ready to run: its expected first run, and its generators.
struct prepared {
    unsigned seed;
    model::program p;
    model::outcome want;
    loop_world world;
    std::unique_ptr<model::instance<loop_world>> in;
};

/// The next program from `seed` on that the loop can run, with what the model expects of it.
std::unique_ptr<prepared> prepare(unsigned& seed) {
    for (;; ++seed) {
        model::random_source src(seed);
        auto program = model::make_program(src);
        if (model::uses(program, model::step::prime) || model::uses(program, model::step::forget)) continue;
        program.r = call_safe_rules();
        auto const want = model::expect(program, true);
        if (!want) continue;
        auto out = std::make_unique<prepared>(prepared{seed, std::move(program), (*want)[0].result, {}, nullptr});
        out->in = std::make_unique<model::instance<loop_world>>(out->p, out->world);
        ++seed;
        return out;
    }
}

enum class setup { plain, async_a, completion_order };

/// Runs groups of `per_group` programs from seed `first` on, each group on one loop; returns
/// how many programs were checked, and reports the first mismatch.
template <class Loop>
std::size_t run_groups(Loop& loop, boost::asio::io_context& io, unsigned& seed, std::size_t groups,
                       std::size_t per_group, std::size_t& failing) {
    std::size_t checked = 0;
    for (std::size_t g = 0; g < groups; ++g) {
        unsigned const group_seed = seed;
        std::vector<std::unique_ptr<prepared>> group;
        std::vector<std::optional<model::outcome>> got(per_group);
        for (std::size_t i = 0; i < per_group; ++i) {
            group.push_back(prepare(seed));
            loop.async_run(group.back()->in->root(), [&got, i](std::exception_ptr e, std::int64_t v) {
                got[i] = e ? model::outcome{true, model::code_of(e)} : model::outcome{false, v};
            });
        }
        io.restart();
        io.run();
        for (std::size_t i = 0; i < per_group; ++i) {
            auto const& want = group[i]->want;
            if (!got[i] || *got[i] != want) {
                BOOST_ERROR("group from seed " << group_seed << " (rerun with BATCH_MODEL_SEED=" << group_seed
                                               << "), program seed " << group[i]->seed << ": expected "
                                               << (want.failed ? "failure " : "value ") << want.value << ", got "
                                               << (!got[i]          ? "nothing"
                                                   : got[i]->failed ? "failure "
                                                                    : "value ")
                                               << (got[i] ? got[i]->value : 0) << "\n"
                                               << model::describe(group[i]->p));
                return checked;
            }
            ++checked;
            failing += want.failed;
        }
    }
    return checked;
}

void check_setup(setup how) {
    unsigned seed = 1;
    std::size_t groups = 150;
    if (char const* s = std::getenv("BATCH_MODEL_SEED")) {
        seed = static_cast<unsigned>(std::stoul(s));
        groups = 1;
    }
    constexpr std::size_t per_group = 10;
    boost::asio::io_context io;
    auto rule = std::make_shared<answers>();
    std::size_t failing = 0, checked = 0;
    if (how == setup::plain) {
        auto loop = batch::asio::make_loop<loop_world::ops>(io, plain_batcher<0>{rule}, plain_batcher<1>{rule},
                                                            plain_batcher<2>{rule});
        checked = run_groups(loop, io, seed, groups, per_group, failing);
        BOOST_TEST(loop.stats().batches < loop.stats().operations); // calls were shared
    } else {
        auto loop = batch::asio::make_loop<loop_world::ops>(io, async_a_batcher{rule}, plain_batcher<1>{rule},
                                                            plain_batcher<2>{rule});
        if (how == setup::completion_order) loop.set_scheduling(batch::scheduling::completion_order);
        checked = run_groups(loop, io, seed, groups, per_group, failing);
    }
    BOOST_TEST(checked == groups * per_group);
    BOOST_TEST_MESSAGE(checked << " programs checked, " << failing << " ending in a failure");
    if (groups > 1) {
        BOOST_TEST(failing > checked / 20);
        BOOST_TEST(failing < checked);
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(programs_submitted_together_give_their_own_results) { check_setup(setup::plain); }

BOOST_AUTO_TEST_CASE(with_an_asynchronous_batcher) { check_setup(setup::async_a); }

BOOST_AUTO_TEST_CASE(in_completion_order) { check_setup(setup::completion_order); }
