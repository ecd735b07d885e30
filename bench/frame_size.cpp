// How many bytes W1's child asks for as its coroutine frame, with the compiler that builds this
// program; bench/report builds it with g++ and with clang++ and reports both. The frame size is
// what a coroutine passes to its promise's `operator new`: for this program's operation set
// only, that operator notes the size, then allocates from the frame pool as the library does.
#include "workloads.hpp"

#include <batch/batch.hpp>

#include <cstddef>
#include <cstdio>
#include <span>
#include <vector>

namespace {

struct get_op {
    int key;
    using result_type = int;
};
using ops = batch::operations<get_op>;

std::size_t requested = 0;

/// Answers each `get` with its key.
struct echo_batcher {
    std::vector<int> out;
    std::span<int const> operator()(std::span<get_op const> in) {
        out.clear();
        for (auto const& op : in) out.push_back(op.key);
        return out;
    }
};

struct world {
    template <class T>
    using gen = batch::gen<T, ops>;
    static get_op get(int key) { return {key}; }
};

} // namespace

template <>
void* batch::detail::promise_base<ops>::operator new(std::size_t size) {
    requested = size;
    return frame_pool::local().allocate(size);
}

template <>
void batch::detail::promise_base<ops>::operator delete(void* p, std::size_t size) noexcept {
    frame_pool::local().deallocate(p, size);
}

int main() {
    // Run, so that the frame is made as in W1 (a frame that never escapes may be elided).
    auto ex = batch::make_executor<ops>(echo_batcher{});
    if (ex.run(bench::w1_child<world>(1)) != 2) return 1;
    std::printf("%zu\n", requested);
}
