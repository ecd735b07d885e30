// The limit of a coroutine design: a minimal scheduler with no features. Each child is one
// eagerly started coroutine that runs to its `co_await get{key}` at once, which appends the key
// and the coroutine to the round's lists; a round is one batch call, then each waiting
// coroutine is resumed in order and reads its result. Frames come from glibc's `malloc` (which
// keeps freed memory for reuse), called directly: the benchmarks' counting `operator new`
// would add its atomic counters to each frame, so the floor counts its frames itself. No batch
// keys, no deduplication, no error handling, no structures beyond a vector of children, and a
// child's result is read after it finishes. `floor_two_walks` goes further: a child writes its
// result in place and frees its own frame, so a run walks the frames twice (make and start;
// resume), where the floor also reads each result from its frame and then destroys it.
#include "common.hpp"

#include <array>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <new>
#include <utility>
#include <vector>

namespace {

/// The round being collected, and the results of the last batch call.
struct floor_scheduler {
    std::vector<int> keys;
    std::vector<std::coroutine_handle<>> waiting;
    std::vector<std::coroutine_handle<>> resuming;
    std::vector<int> out;
    std::size_t calls = 0;
    std::size_t rounds = 0;

    /// Runs rounds until no coroutine waits.
    void drain() {
        while (!waiting.empty()) {
            bench::get_batch(keys, out);
            keys.clear();
            ++calls;
            ++rounds;
            std::swap(waiting, resuming);
            for (auto h : resuming) h.resume();
            resuming.clear();
        }
    }
};

floor_scheduler* current = nullptr;
std::size_t frames = 0;     ///< Frames allocated.
std::size_t last_frame = 0; ///< The size of the last one.

/// What every coroutine of the floor allocates its frame with.
struct malloc_frame {
    static void* operator new(std::size_t size) {
        ++frames;
        last_frame = size;
        if (void* p = std::malloc(size)) return p;
        throw std::bad_alloc();
    }
    static void operator delete(void* p) noexcept { std::free(p); }
};

/// An eagerly started coroutine with a result, read once it has finished.
template <class T>
class task {
public:
    struct promise_type : malloc_frame {
        T value{};
        task get_return_object() { return task{std::coroutine_handle<promise_type>::from_promise(*this)}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_value(T v) noexcept { value = v; }
        void unhandled_exception() noexcept { std::terminate(); }
    };

    task(task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
    task& operator=(task&&) = delete;
    ~task() {
        if (h_) h_.destroy();
    }
    [[nodiscard]] T result() const { return h_.promise().value; }

private:
    explicit task(std::coroutine_handle<promise_type> h) : h_(h) {}
    std::coroutine_handle<promise_type> h_;
};

/// `co_await get{key}`: joins the round, resumes with `key`'s result.
struct get {
    int key;
    std::size_t index = 0;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        index = current->keys.size();
        current->keys.push_back(key);
        current->waiting.push_back(h);
    }
    int await_resume() const noexcept { return current->out[index]; }
};

task<int> w1_child(int i) {
    int const r = co_await get{i};
    co_return r + 1;
}

constexpr std::size_t padding = 24;

/// The same child with `Pad` more bytes live across its `co_await`, so that its frame is as
/// large as the library's (g++ 12: 96 bytes for W1's child, bench/frame_size.cpp): what frame
/// size alone costs.
template <std::size_t Pad>
task<int> w1_padded_child(int i) {
    std::array<unsigned char, Pad> pad;
    pad.fill(static_cast<unsigned char>(i));
    benchmark::DoNotOptimize(pad);
    int const r = co_await get{i};
    benchmark::DoNotOptimize(pad);
    co_return r + 1 + (pad[0] & 0);
}

/// A coroutine that nothing waits for: started eagerly, it frees its own frame when it ends.
struct detached {
    struct promise_type : malloc_frame {
        detached get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

/// W1's child that writes its result in place, into its parent's array.
detached w1_child_in_place(int i, int* out) {
    int const r = co_await get{i};
    *out = r + 1;
}

/// W1 in two walks over the frames: each child is made and run to its `co_await` in one, and
/// resumed in the other, where it writes its result in place and frees its frame. The sum is a
/// third pass, over an array of ints rather than over frames.
std::int64_t w1_two_walks(floor_scheduler& s, int n) {
    s.calls = s.rounds = 0;
    std::vector<int> results(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) w1_child_in_place(i, &results[static_cast<std::size_t>(i)]);
    s.drain();
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    return sum;
}

template <task<int> (*Child)(int)>
std::int64_t w1(floor_scheduler& s, int n) {
    s.calls = s.rounds = 0;
    std::vector<task<int>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) children.push_back(Child(i));
    s.drain();
    std::int64_t sum = 0;
    for (auto const& c : children) sum += c.result();
    return sum;
}

task<std::int64_t> w3_chain(int n) {
    std::int64_t sum = 0;
    for (int i = 0; i < n; ++i) sum += co_await get{i};
    co_return sum;
}

std::int64_t w3(floor_scheduler& s, int n) {
    s.calls = s.rounds = 0;
    auto const chain = w3_chain(n);
    s.drain();
    return chain.result();
}

template <class Workload>
void run_floor(benchmark::State& state, Workload workload, std::size_t ops, std::int64_t expected) {
    floor_scheduler s;
    current = &s;
    int const n = static_cast<int>(state.range(0));
    std::size_t frames_per_run = 0;
    bench::measure(
        state, ops, expected,
        [&] {
            std::size_t const before = frames;
            auto const result = workload(s, n);
            frames_per_run = frames - before; // the same in every run
            return result;
        },
        [&] { return s.calls; }, [&] { return s.rounds; });
    current = nullptr;
    state.counters["frame_bytes"] = static_cast<double>(last_frame);
    if (state.counters.count("allocs_per_op")) {
        state.counters["allocs_per_op"] =
            state.counters["allocs_per_op"].value + static_cast<double>(frames_per_run) / static_cast<double>(ops);
    }
}

[[maybe_unused]] bool const registered = [] {
    for (auto n : bench::w1_sizes) {
        benchmark::RegisterBenchmark("W1_fanout/floor", [](benchmark::State& s) {
            auto const n = s.range(0);
            run_floor(s, w1<w1_child>, static_cast<std::size_t>(n), n * n);
        })->Arg(n);
        benchmark::RegisterBenchmark("W1_fanout/floor_two_walks", [](benchmark::State& s) {
            auto const n = s.range(0);
            run_floor(s, w1_two_walks, static_cast<std::size_t>(n), n * n);
        })->Arg(n);
        benchmark::RegisterBenchmark("W1_fanout/floor_padded", [](benchmark::State& s) {
            auto const n = s.range(0);
            run_floor(s, w1<w1_padded_child<padding>>, static_cast<std::size_t>(n), n * n);
        })->Arg(n);
    }
    benchmark::RegisterBenchmark("W3_chain/floor", [](benchmark::State& s) {
        auto const n = s.range(0);
        run_floor(s, w3, static_cast<std::size_t>(n), n * (n - 1));
    })->Arg(bench::w3_size);
    return true;
}();

} // namespace
