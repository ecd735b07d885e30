// expect: batch: the result_type of this operation .* must be void or a non-const value type
#include <batch/batch.hpp>

#include <span>
#include <string>
#include <vector>

struct get_name {
    int id;
#ifdef BATCH_COMPILE_FAIL
    using result_type = std::string const&; // would refer into the batcher's storage
#else
    using result_type = std::string;
#endif
};
using ops = batch::operations<get_name>;

std::vector<std::string> serve(std::span<get_name const> in) { return std::vector<std::string>(in.size()); }

batch::gen<std::string, ops> name_of(int id) {
    std::string name = co_yield get_name{id};
    co_return name;
}

std::string runs() {
    auto ex = batch::make_executor<ops>(serve);
    return ex.run(name_of(1));
}
