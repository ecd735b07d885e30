// expect: batch: postgres::lookup: the decoder must be callable with a batch::postgres::row
#include "common.hpp"

std::optional<user> find(pg::connection const& c) {
#ifdef BATCH_COMPILE_FAIL
    auto decode = [](std::string_view name) { return user{std::string(name), 0}; };
#else
    auto decode = decode_user;
#endif
    return run_with(pg::lookup<get_user>(c, users_sql, &get_user::id, decode), get_user{1});
}
