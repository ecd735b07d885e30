// A user's program: the seed example against the library as installed or added.
#include <batch/batch.hpp>

#include <boost/hana/tuple.hpp>

#include <cstdint>
#include <cstdio>
#include <span>
#include <utility>
#include <vector>

namespace {

struct get_name {
    std::int64_t id;
    using result_type = std::int64_t;
};
struct get_spouse_id {
    std::int64_t id;
    using result_type = std::int64_t;
};
using ops = batch::operations<get_name, get_spouse_id>;
template <class T>
using gen = batch::gen<T, ops>;

gen<std::int64_t> gen_user(std::int64_t id) {
    std::int64_t name = co_yield get_name{id};
    co_return name;
}

gen<std::int64_t> gen_spouse(std::int64_t id) {
    std::int64_t spouse = co_yield get_spouse_id{id};
    std::int64_t name = co_yield gen_user(spouse);
    co_return name;
}

gen<std::pair<std::int64_t, std::int64_t>> gen_spouses(std::int64_t id) {
    auto [u, s] = co_yield boost::hana::make_tuple(gen_user(id), gen_spouse(id));
    co_return std::pair{u, s};
}

} // namespace

int main() {
    auto ex = batch::make_executor<ops>(
        [](std::span<get_name const> in) {
            std::vector<std::int64_t> out;
            for (auto const& op : in) out.push_back(op.id * 10);
            return out;
        },
        [](std::span<get_spouse_id const> in) {
            std::vector<std::int64_t> out;
            for (auto const& op : in) out.push_back(op.id + 1);
            return out;
        });
    auto [u, s] = ex.run(gen_spouses(41));
    bool const ok = u == 410 && s == 420 && ex.stats().rounds == 2;
    std::printf("consumer: user %lld, spouse %lld, %zu rounds: %s\n", static_cast<long long>(u),
                static_cast<long long>(s), ex.stats().rounds, ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
