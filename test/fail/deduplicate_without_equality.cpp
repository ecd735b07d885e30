// expect: batch: a deduplicate or cacheable operation .* needs ==
#include <batch/batch.hpp>

#include <functional>
#include <span>
#include <vector>

struct get_user {
    int id;
    using result_type = int;
    static constexpr bool deduplicate = true;
#ifndef BATCH_COMPILE_FAIL
    bool operator==(get_user const&) const = default;
#endif
};
template <>
struct std::hash<get_user> {
    std::size_t operator()(get_user const& g) const noexcept { return std::hash<int>{}(g.id); }
};
using ops = batch::operations<get_user>;

std::vector<int> serve(std::span<get_user const> in) { return std::vector<int>(in.size()); }

int runs() {
    auto ex = batch::make_executor<ops>(serve);
    return ex.run(get_user{1});
}
