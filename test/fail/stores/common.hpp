#pragma once

// The operations and connections the compile-fail cases of the store batchers share. Each case
// builds its executor in a function that is compiled, never called (no server is needed).

#include <batch/batch.hpp>
#include <batch/stores/postgres.hpp>
#include <batch/stores/redis.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace pg = batch::postgres;
namespace rd = batch::redis;

struct user {
    std::string name;
    std::int64_t age;
};
struct get_user {
    std::int64_t id;
    using result_type = std::optional<user>;
};
struct get_count {
    std::string key;
    using result_type = std::optional<std::int64_t>;
};
struct get_profile {
    std::string key;
    using result_type = std::optional<std::map<std::string, std::string>>;
};

inline user decode_user(pg::row const& r) { return {r.get<std::string>(1), r.get<std::int64_t>(2)}; }
inline std::int64_t decode_count(std::string_view v) { return std::stoll(std::string(v)); }

inline constexpr char const* users_sql = "SELECT id, name, age FROM users WHERE id = ANY($1)";

/// Runs `op` on an executor with `batcher` alone.
template <class Op, class Batcher>
auto run_with(Batcher batcher, Op op) {
    auto ex = batch::make_executor<batch::operations<Op>>(std::move(batcher));
    return ex.run(op);
}
