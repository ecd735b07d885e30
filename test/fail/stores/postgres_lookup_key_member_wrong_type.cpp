// expect: batch: postgres::lookup: key_of\(op\) must give an integer or a string
#include "common.hpp"

struct get_by_score {
    double score;
    std::int64_t id;
    using result_type = std::optional<user>;
};

std::optional<user> find(pg::connection const& c) {
#ifdef BATCH_COMPILE_FAIL
    auto key_of = &get_by_score::score;
#else
    auto key_of = &get_by_score::id;
#endif
    return run_with(pg::lookup<get_by_score>(c, users_sql, key_of, decode_user), get_by_score{0.5, 1});
}
