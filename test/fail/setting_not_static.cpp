// expect: batch: deduplicate and cacheable on this operation .* must be compile-time constants
#include <batch/batch.hpp>

#include <functional>
#include <span>
#include <vector>

struct get_user {
    int id;
    using result_type = int;
#ifdef BATCH_COMPILE_FAIL
    bool cacheable = true; // a data member: every object would carry it, and the executor cannot read it
#else
    static constexpr bool cacheable = true;
#endif
    bool operator==(get_user const&) const = default;
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
