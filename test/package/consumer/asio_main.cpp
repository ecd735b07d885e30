// A user's program on the Boost.Asio bridge, against the library as installed or added.
#include <utility>

#include <batch/asio/async_run.hpp>
#include <batch/batch.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <span>
#include <vector>

namespace {

struct get_twice {
    std::int64_t id;
    using result_type = std::int64_t;
};
using ops = batch::operations<get_twice>;

batch::gen<std::int64_t, ops> sum(std::int64_t n) {
    std::vector<get_twice> gets;
    for (std::int64_t i = 1; i <= n; ++i) gets.push_back({i});
    auto const values = co_yield std::move(gets);
    std::int64_t total = 0;
    for (auto v : values) total += v;
    co_return total;
}

} // namespace

int main() {
    boost::asio::io_context io;
    auto ex = batch::make_executor<ops>([](std::span<get_twice const> in) {
        std::vector<std::int64_t> out;
        for (auto const& op : in) out.push_back(2 * op.id);
        return out;
    });
    std::int64_t got = 0;
    batch::asio::async_run(io, ex, sum(10), [&](std::exception_ptr e, std::int64_t v) {
        if (!e) got = v;
    });
    io.run();
    std::printf("sum over Asio: %lld\n", static_cast<long long>(got));
    return got == 110 ? 0 : 1;
}
