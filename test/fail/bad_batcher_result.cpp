// expect: batch: the batcher for this operation type .* must return
#include "common.hpp"

#include <string>

#ifdef BATCH_COMPILE_FAIL
inline std::vector<std::string> serve_get_wrongly(std::span<get const> in) {
    return std::vector<std::string>(in.size());
}
#else
inline std::vector<int> serve_get_wrongly(std::span<get const> in) { return std::vector<int>(in.size()); }
#endif

int runs() {
    auto ex = batch::make_executor<ops>(serve_get_wrongly, serve_put);
    return ex.run(get{1});
}
