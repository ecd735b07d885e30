// expect: batch: a cacheable operation .* is kept as the key of its cached result, so it must be copyable
#include <batch/batch.hpp>

#include <functional>
#include <memory>
#include <span>
#include <vector>

struct get_user {
    explicit get_user(int i) : id(i) {}
    int id;
#ifdef BATCH_COMPILE_FAIL
    std::unique_ptr<int> trace; // makes the operation move-only
#endif
    using result_type = int;
    static constexpr bool cacheable = true;
    bool operator==(get_user const& o) const { return id == o.id; }
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
