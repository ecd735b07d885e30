// Compile-time probe: the 8 operation types of W5 and 50 generators, typed. bench/report
// times the compilation of this file against its dynamic twin.
#include <batch/batch.hpp>

#include <boost/hana/tuple.hpp>

#include <span>
#include <vector>

namespace {

namespace hana = boost::hana;

template <int Type>
struct get_n {
    int key;
    using result_type = int;
};

using ops = batch::operations<get_n<0>, get_n<1>, get_n<2>, get_n<3>, get_n<4>, get_n<5>, get_n<6>, get_n<7>>;
template <class T>
using gen = batch::gen<T, ops>;

#include "generators.inc"

} // namespace

int run_compile_time_probe() {
    auto ex = batch::make_executor<ops>([](auto in) { return std::vector<int>(in.size(), 1); });
    return ex.run(g49(1));
}
