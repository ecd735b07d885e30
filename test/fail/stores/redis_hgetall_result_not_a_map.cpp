// expect: batch: redis::hgetall: the operation's result_type must be a map from field to value
#include "common.hpp"

struct get_profile_text {
    std::string key;
    using result_type = std::optional<std::string>;
};

auto profile(rd::connection const& c) {
#ifdef BATCH_COMPILE_FAIL
    return run_with(rd::hgetall<get_profile_text>(c, &get_profile_text::key), get_profile_text{"profile:1"});
#else
    return run_with(rd::hgetall<get_profile>(c, &get_profile::key), get_profile{"profile:1"});
#endif
}
