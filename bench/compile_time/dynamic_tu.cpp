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

gen<int> g0(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<0>{i}, get_n<3>{i + 0});
    co_return a + b;
}

gen<int> g1(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<1>{i}, get_n<4>{i + 1});
    std::vector<gen<int>> more;
    more.push_back(g0(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g2(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<2>{i}, get_n<5>{i + 2});
    std::vector<gen<int>> more;
    more.push_back(g1(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g3(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<3>{i}, get_n<6>{i + 3});
    std::vector<gen<int>> more;
    more.push_back(g2(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g4(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<4>{i}, get_n<7>{i + 4});
    std::vector<gen<int>> more;
    more.push_back(g3(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g5(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<5>{i}, get_n<0>{i + 5});
    std::vector<gen<int>> more;
    more.push_back(g4(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g6(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<6>{i}, get_n<1>{i + 6});
    std::vector<gen<int>> more;
    more.push_back(g5(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g7(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<7>{i}, get_n<2>{i + 7});
    std::vector<gen<int>> more;
    more.push_back(g6(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g8(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<0>{i}, get_n<3>{i + 8});
    std::vector<gen<int>> more;
    more.push_back(g7(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g9(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<1>{i}, get_n<4>{i + 9});
    std::vector<gen<int>> more;
    more.push_back(g8(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g10(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<2>{i}, get_n<5>{i + 10});
    std::vector<gen<int>> more;
    more.push_back(g9(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g11(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<3>{i}, get_n<6>{i + 11});
    std::vector<gen<int>> more;
    more.push_back(g10(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g12(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<4>{i}, get_n<7>{i + 12});
    std::vector<gen<int>> more;
    more.push_back(g11(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g13(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<5>{i}, get_n<0>{i + 13});
    std::vector<gen<int>> more;
    more.push_back(g12(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g14(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<6>{i}, get_n<1>{i + 14});
    std::vector<gen<int>> more;
    more.push_back(g13(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g15(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<7>{i}, get_n<2>{i + 15});
    std::vector<gen<int>> more;
    more.push_back(g14(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g16(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<0>{i}, get_n<3>{i + 16});
    std::vector<gen<int>> more;
    more.push_back(g15(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g17(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<1>{i}, get_n<4>{i + 17});
    std::vector<gen<int>> more;
    more.push_back(g16(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g18(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<2>{i}, get_n<5>{i + 18});
    std::vector<gen<int>> more;
    more.push_back(g17(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g19(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<3>{i}, get_n<6>{i + 19});
    std::vector<gen<int>> more;
    more.push_back(g18(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g20(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<4>{i}, get_n<7>{i + 20});
    std::vector<gen<int>> more;
    more.push_back(g19(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g21(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<5>{i}, get_n<0>{i + 21});
    std::vector<gen<int>> more;
    more.push_back(g20(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g22(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<6>{i}, get_n<1>{i + 22});
    std::vector<gen<int>> more;
    more.push_back(g21(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g23(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<7>{i}, get_n<2>{i + 23});
    std::vector<gen<int>> more;
    more.push_back(g22(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g24(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<0>{i}, get_n<3>{i + 24});
    std::vector<gen<int>> more;
    more.push_back(g23(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g25(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<1>{i}, get_n<4>{i + 25});
    std::vector<gen<int>> more;
    more.push_back(g24(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g26(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<2>{i}, get_n<5>{i + 26});
    std::vector<gen<int>> more;
    more.push_back(g25(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g27(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<3>{i}, get_n<6>{i + 27});
    std::vector<gen<int>> more;
    more.push_back(g26(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g28(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<4>{i}, get_n<7>{i + 28});
    std::vector<gen<int>> more;
    more.push_back(g27(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g29(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<5>{i}, get_n<0>{i + 29});
    std::vector<gen<int>> more;
    more.push_back(g28(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g30(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<6>{i}, get_n<1>{i + 30});
    std::vector<gen<int>> more;
    more.push_back(g29(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g31(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<7>{i}, get_n<2>{i + 31});
    std::vector<gen<int>> more;
    more.push_back(g30(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g32(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<0>{i}, get_n<3>{i + 32});
    std::vector<gen<int>> more;
    more.push_back(g31(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g33(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<1>{i}, get_n<4>{i + 33});
    std::vector<gen<int>> more;
    more.push_back(g32(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g34(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<2>{i}, get_n<5>{i + 34});
    std::vector<gen<int>> more;
    more.push_back(g33(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g35(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<3>{i}, get_n<6>{i + 35});
    std::vector<gen<int>> more;
    more.push_back(g34(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g36(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<4>{i}, get_n<7>{i + 36});
    std::vector<gen<int>> more;
    more.push_back(g35(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g37(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<5>{i}, get_n<0>{i + 37});
    std::vector<gen<int>> more;
    more.push_back(g36(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g38(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<6>{i}, get_n<1>{i + 38});
    std::vector<gen<int>> more;
    more.push_back(g37(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g39(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<7>{i}, get_n<2>{i + 39});
    std::vector<gen<int>> more;
    more.push_back(g38(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g40(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<0>{i}, get_n<3>{i + 40});
    std::vector<gen<int>> more;
    more.push_back(g39(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g41(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<1>{i}, get_n<4>{i + 41});
    std::vector<gen<int>> more;
    more.push_back(g40(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g42(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<2>{i}, get_n<5>{i + 42});
    std::vector<gen<int>> more;
    more.push_back(g41(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g43(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<3>{i}, get_n<6>{i + 43});
    std::vector<gen<int>> more;
    more.push_back(g42(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g44(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<4>{i}, get_n<7>{i + 44});
    std::vector<gen<int>> more;
    more.push_back(g43(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g45(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<5>{i}, get_n<0>{i + 45});
    std::vector<gen<int>> more;
    more.push_back(g44(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g46(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<6>{i}, get_n<1>{i + 46});
    std::vector<gen<int>> more;
    more.push_back(g45(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g47(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<7>{i}, get_n<2>{i + 47});
    std::vector<gen<int>> more;
    more.push_back(g46(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g48(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<0>{i}, get_n<3>{i + 48});
    std::vector<gen<int>> more;
    more.push_back(g47(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

gen<int> g49(int i) {
    auto [a, b] = co_yield hana::make_tuple(get_n<1>{i}, get_n<4>{i + 49});
    std::vector<gen<int>> more;
    more.push_back(g48(a));
    auto rest = co_yield std::move(more);
    co_return a + b + rest[0];
}

} // namespace

int run_compile_time_probe() {
    dyn::executor ex;
    return ex.run(g49(1));
}
