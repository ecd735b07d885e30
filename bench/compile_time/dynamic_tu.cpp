// Compile-time probe: the 8 operation types of W5 and 50 generators, on the dynamic baseline.
// bench/report times the compilation of this file against its typed twin.
#include <batch/dynamic/executor.hpp>

#include <boost/hana/tuple.hpp>

#include <any>
#include <span>
#include <vector>

namespace {

namespace hana = boost::hana;
namespace dyn = batch::dynamic;

struct one_batcher final : dyn::batcher {
    std::vector<std::any> batch(std::span<dyn::operation const* const> in) override {
        return std::vector<std::any>(in.size(), std::any(1));
    }
};
one_batcher servers[8];

template <int Type>
struct get_n final : dyn::operation_of<int> {
    int key;
    explicit get_n(int k) : key(k) {}
    dyn::batcher& get_batcher() const override { return servers[Type]; }
};

template <class T>
using gen = dyn::gen<T>;

#include "generators.inc"

} // namespace

int run_compile_time_probe() {
    dyn::executor ex;
    return ex.run(g49(1));
}
