// expect: batch: postgres::lookup: the decoder must return the operation's result_type
#include "common.hpp"

std::optional<user> find(pg::connection const& c) {
#ifdef BATCH_COMPILE_FAIL
    auto decode = [](pg::row const& r) { return r.get<std::string>(1); };
#else
    auto decode = decode_user;
#endif
    return run_with(pg::lookup<get_user>(c, users_sql, &get_user::id, decode), get_user{1});
}
