// expect: batch: postgres::table_lookup<Op, Columns...> gives a std::tuple<Columns...>: the operation.s result_type
#include "common.hpp"

struct get_row {
    std::int64_t id;
    using result_type = std::optional<std::tuple<std::string, std::int64_t>>;
};

auto find(pg::connection const& c) {
#ifdef BATCH_COMPILE_FAIL
    return run_with(pg::table_lookup<get_row, std::string, double>(c, "users", "id", {"name", "age"}, &get_row::id),
                    get_row{1});
#else
    return run_with(
        pg::table_lookup<get_row, std::string, std::int64_t>(c, "users", "id", {"name", "age"}, &get_row::id),
        get_row{1});
#endif
}
