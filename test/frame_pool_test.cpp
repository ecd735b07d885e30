// The frame pool's policy (detail/base/frame_pool.hpp), with its bound made small by this file's
// build (BATCH_FRAME_CACHE_BYTES=65536): a run keeps the frames it had live at once for the
// next run, beyond the bound; the next smaller run gives the excess back; sizes share the bound.
#define BOOST_TEST_MODULE frame_pool
#include <batch/batch.hpp>

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <span>
#include <vector>

static_assert(BATCH_FRAME_CACHE_BYTES == 65536, "this test is built with a 64 KiB bound");

namespace {
/// Calls of the global aligned operator new, which the pool falls back to (and which the
/// executor's own buffers call a few times per run).
std::size_t allocations = 0;

void* allocate(std::size_t size, std::size_t alignment) {
    if (size == 0) size = 1;
    void* p = std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
    if (!p) throw std::bad_alloc();
    return p;
}
// Out of line: inlined into a replacement operator delete, g++ would pair std::free with the
// operator new it sees and warn of a mismatch that is not there.
[[gnu::noinline]] void release(void* p) noexcept { std::free(p); }
} // namespace

void* operator new(std::size_t size) { return allocate(size, alignof(std::max_align_t)); }
void* operator new(std::size_t size, std::align_val_t a) {
    ++allocations;
    return allocate(size, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }

namespace {

struct get {
    int key;
    using result_type = int;
};
using ops = batch::operations<get>;
template <class T>
using gen = batch::gen<T, ops>;

auto make() {
    return batch::make_executor<ops>([](std::span<get const> in) {
        std::vector<int> out;
        for (auto const& g : in) out.push_back(g.key * 2);
        return out;
    });
}

gen<int> child(int i) {
    int const r = co_yield get{i};
    co_return r + 1;
}

/// A child with a larger frame: another size class.
gen<int> big_child(int i) {
    std::int64_t pad[40] = {};
    pad[i % 40] = co_yield get{i};
    std::int64_t sum = 0;
    for (auto p : pad) sum += p;
    co_return static_cast<int>(sum);
}

template <class Child>
gen<std::int64_t> fan_out(int n, Child make_child) {
    std::vector<gen<int>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) children.push_back(make_child(i));
    auto const results = co_yield std::move(children);
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    co_return sum;
}

std::size_t cached() { return batch::detail::frame_pool::local().cached_bytes(); }

std::int64_t expected(int n) { return std::int64_t{n} * n; } // sum of 2i + 1

} // namespace

BOOST_AUTO_TEST_CASE(a_run_keeps_the_frames_it_had_live_and_a_smaller_run_gives_them_back) {
    auto ex = make();
    auto const live = batch::detail::frame_pool::local().live();

    // 2,000 children: far more than 64 KiB of frames, all live at once, all kept after the run.
    BOOST_TEST(ex.run(fan_out(2'000, child)) == expected(2'000));
    std::size_t const large = cached();
    BOOST_TEST(large > std::size_t{65536});
    BOOST_TEST(large >= 2'000 * sizeof(void*) * 4); // a frame is at least 32 bytes

    // The same run again takes its frames from the pool and gives them back: no growth, and no
    // frame from the allocator.
    std::size_t const before = allocations;
    BOOST_TEST(ex.run(fan_out(2'000, child)) == expected(2'000));
    BOOST_TEST(allocations - before < 50u); // without recycling: 2,000 frames and more
    BOOST_TEST(cached() == large);

    // A small run: what exceeds the bound goes back to the allocator.
    BOOST_TEST(ex.run(fan_out(10, child)) == expected(10));
    BOOST_TEST(cached() <= std::size_t{65536});
    BOOST_TEST(cached() > 0u);

    BOOST_TEST(batch::detail::frame_pool::local().live() == live); // nothing leaked
}

BOOST_AUTO_TEST_CASE(frames_of_one_size_do_not_keep_another_from_being_recycled) {
    auto ex = make();
    // Fill the pool with small frames, then run large ones many times: the large ones are kept
    // (making room by freeing small ones), so the pool holds mostly large frames afterwards.
    ex.run(fan_out(2'000, child));
    ex.run(fan_out(10, child)); // back to the bound, all small frames
    std::size_t const small = cached();
    BOOST_TEST(small <= std::size_t{65536});
    BOOST_TEST(ex.run(fan_out(100, big_child)) == 9'900);
    BOOST_TEST(cached() <= std::size_t{65536});

    // The large frames (over 320 bytes, 100 of them live at once: half the bound) were kept by
    // freeing small ones, so the next runs take them from the pool.
    std::size_t const before = allocations;
    BOOST_TEST(ex.run(fan_out(100, big_child)) == 9'900);
    BOOST_TEST(ex.run(fan_out(100, big_child)) == 9'900);
    BOOST_TEST(allocations - before < 50u); // without recycling: 200 frames and more
    BOOST_TEST(cached() <= std::size_t{65536});
}

BOOST_AUTO_TEST_CASE(frames_left_over_from_a_larger_program_make_room_for_the_current_one) {
    auto ex = make();
    // Another program's small frames fill the pool to its bound.
    ex.run(fan_out(2'000, child));
    ex.run(fan_out(10, child));
    BOOST_TEST(cached() > std::size_t{60'000});

    // Then a program of large frames, far more bytes than the bound: after its first run, its
    // frames are the ones kept (the left-over small ones go first, though they hold fewer bytes
    // when room is needed), so its next runs allocate no frames.
    BOOST_TEST(ex.run(fan_out(300, big_child)) == 89'700);
    std::size_t const before = allocations;
    BOOST_TEST(ex.run(fan_out(300, big_child)) == 89'700);
    BOOST_TEST(ex.run(fan_out(300, big_child)) == 89'700);
    BOOST_TEST(allocations - before < 30u); // 10 here; 66 when the small ones were kept instead
}
