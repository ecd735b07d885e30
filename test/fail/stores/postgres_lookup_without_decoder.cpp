// expect: batch: postgres::lookup needs a decoder
#include "common.hpp"

std::optional<user> find(pg::connection const& c) {
#ifdef BATCH_COMPILE_FAIL
    return run_with(pg::lookup<get_user>(c, users_sql, &get_user::id), get_user{1});
#else
    return run_with(pg::lookup<get_user>(c, users_sql, &get_user::id, decode_user), get_user{1});
#endif
}
