#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define BATCH_DETAIL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BATCH_DETAIL_ASAN 1
#endif
#endif

#ifndef BATCH_FRAME_CACHE_BYTES
#if defined(BATCH_DETAIL_ASAN)
// Under AddressSanitizer every frame goes back to the allocator, so that a use of a destroyed
// generator's frame is reported instead of landing in a recycled one.
#define BATCH_FRAME_CACHE_BYTES 0
#else
/// How many bytes of freed coroutine frames each thread keeps for reuse after a run, at least
/// (64 MiB by default; a run that had more frames live at once keeps that many); 0 turns
/// recycling off, e.g. for valgrind.
#define BATCH_FRAME_CACHE_BYTES (std::size_t{64} << 20)
#endif
#endif

namespace batch::detail {

/// Recycles coroutine frames: a freed frame goes to its thread's free list for its size class,
/// and the next frame of that class reuses it, so a program that runs generators over and over
/// stops calling the global allocator. Each thread has its own pool; a frame freed on another
/// thread than the one that made it simply joins that thread's pool.
///
/// How much it keeps: at most the larger of `BATCH_FRAME_CACHE_BYTES` and the most bytes of
/// pooled frames the thread had live at once since its last run ended. So a run that has a
/// million generators live at once keeps their frames for the next run, which then allocates
/// nothing; a frame freed beyond the bound goes straight back to the allocator. When the last of
/// the thread's runs ends (runs nest, and an event loop's interleave), the pool gives back what
/// exceeds the larger of `BATCH_FRAME_CACHE_BYTES` and that run's peak, taking first from the
/// size classes that the run did not use, then from those that hold the most: after one large
/// run, the next smaller one returns the rest.
///
/// With clang every frame is aligned to 64 bytes, pooled or not: clang lays out over-aligned
/// locals (up to 64 bytes) assuming the frame itself is that aligned, which the plain
/// `operator new` does not promise. g++ aligns such locals itself, so there frames come from
/// the plain `operator new`, which keeps them densely packed.
class frame_pool {
public:
    static constexpr std::size_t granule = 16;
    static constexpr std::size_t classes = 128; ///< Frames up to 2 KiB are pooled.
#if defined(__clang__)
    static constexpr std::size_t alignment = 64;
#else
    static constexpr std::size_t alignment = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
#endif

    frame_pool() = default;
    frame_pool(frame_pool const&) = delete;
    frame_pool& operator=(frame_pool const&) = delete;

    ~frame_pool() {
        for (std::size_t c = 0; c < classes; ++c) {
            while (node* n = free_[c]) {
                free_[c] = n->next;
                release(n, block_size(c));
            }
        }
    }

    /// Frames allocated by this thread's pool and not yet freed (a frame freed on another thread
    /// counts there): what the tests check to show that no generator outlives its use.
    [[nodiscard]] std::ptrdiff_t live() const noexcept { return live_; }

    /// A coroutine frame, counted by `live`.
    void* allocate(std::size_t size) {
        void* const p = allocate_block(size);
        ++live_;
        return p;
    }
    void deallocate(void* p, std::size_t size) noexcept {
        --live_;
        deallocate_block(p, size);
    }

    /// Memory of `size` bytes for anything else that a run makes by the thousand (the state of a
    /// shared generator), pooled with the frames and not counted by `live`.
    void* allocate_block(std::size_t size) {
        std::size_t const c = class_of(size);
        if (c >= classes) return obtain(size);
        used_[c] = epoch_;
        live_bytes_ += static_cast<std::ptrdiff_t>(block_size(c));
        if (live_bytes_ > peak_bytes_) peak_bytes_ = live_bytes_;
        if (node* n = free_[c]) {
            free_[c] = n->next;
            --count_[c];
            cached_ -= block_size(c);
            return n;
        }
        return obtain(block_size(c));
    }

    void deallocate_block(void* p, std::size_t size) noexcept {
        std::size_t const c = class_of(size);
        if (c >= classes) {
            release(p, size);
            return;
        }
        live_bytes_ -= static_cast<std::ptrdiff_t>(block_size(c));
        if (BATCH_FRAME_CACHE_BYTES == 0 || (cached_ + block_size(c) > bound() && !make_room(c))) {
            release(p, block_size(c));
            return;
        }
        free_[c] = ::new (p) node{free_[c]};
        ++count_[c];
        cached_ += block_size(c);
    }

    /// A run starts on this thread.
    void begin_run() noexcept { ++runs_; }

    /// A run ends on this thread: after the last one, gives back what exceeds the bound.
    void end_run() noexcept {
        if (runs_ > 0) --runs_;
        if (runs_ > 0) return;
        trim(bound());
        peak_bytes_ = live_bytes_;
        victim_ = classes;
        ++epoch_;
    }

    /// Bytes of freed frames kept for reuse.
    [[nodiscard]] std::size_t cached_bytes() const noexcept { return cached_; }

    /// The calling thread's pool.
    static frame_pool& local() noexcept {
        thread_local frame_pool pool;
        return pool;
    }

private:
    struct node {
        node* next;
    };

    [[nodiscard]] std::size_t bound() const noexcept {
        if constexpr (BATCH_FRAME_CACHE_BYTES == 0) {
            return 0;
        } else {
            auto const peak = static_cast<std::size_t>(peak_bytes_ > 0 ? peak_bytes_ : 0);
            return peak > BATCH_FRAME_CACHE_BYTES ? peak : BATCH_FRAME_CACHE_BYTES;
        }
    }

    // The class to take kept frames from: of those holding some that no allocation since the
    // last run ended has used (left over from other programs), the one holding the most bytes;
    // failing that, the one holding the most.
    [[nodiscard]] std::size_t fullest() const noexcept {
        std::size_t most = classes;
        std::size_t stale = classes;
        for (std::size_t c = 0; c < classes; ++c) {
            if (count_[c] == 0) continue;
            if (most == classes || bytes(c) > bytes(most)) most = c;
            if (used_[c] != epoch_ && (stale == classes || bytes(c) > bytes(stale))) stale = c;
        }
        return stale != classes ? stale : most;
    }

    [[nodiscard]] std::size_t bytes(std::size_t c) const noexcept { return count_[c] * block_size(c); }

    void evict(std::size_t c) noexcept {
        node* const n = free_[c];
        free_[c] = n->next;
        --count_[c];
        cached_ -= block_size(c);
        release(n, block_size(c));
    }

    // Frees kept frames of another class to keep one of class `c`: from the class `fullest`
    // chose when room was last needed, until it is empty (then the next), so that frames of one
    // size cannot keep the others from being recycled, without a scan per free. False when
    // `fullest` chooses `c` itself.
    bool make_room(std::size_t c) noexcept {
        while (cached_ + block_size(c) > bound()) {
            if (victim_ == classes || count_[victim_] == 0) victim_ = fullest();
            if (victim_ == classes || victim_ == c) return false;
            evict(victim_);
        }
        return true;
    }

    // Frees kept frames until at most `keep` bytes are left: all of a class `fullest` chooses,
    // when it is left over from other programs, or else half of it, each time.
    void trim(std::size_t keep) noexcept {
        while (cached_ > keep) {
            std::size_t const c = fullest();
            std::size_t n = used_[c] == epoch_ ? count_[c] / 2 + 1 : count_[c];
            for (; n > 0 && cached_ > keep; --n) evict(c);
        }
    }

    // Out of line: inlined into a coroutine, g++ would pair the global operator new seen here
    // with the promise's operator delete and warn of a mismatch that is not there.
    [[gnu::noinline]] static void* obtain(std::size_t size) {
        return ::operator new (size, std::align_val_t{alignment});
    }

    [[gnu::noinline]] static void release(void* p, [[maybe_unused]] std::size_t size) noexcept {
#if defined(__cpp_sized_deallocation)
        ::operator delete (p, size, std::align_val_t{alignment});
#else
        ::operator delete (p, std::align_val_t{alignment}); // clang without -fsized-deallocation
#endif
    }

    static constexpr std::size_t class_of(std::size_t size) noexcept { return (size + granule - 1) / granule; }
    static constexpr std::size_t block_size(std::size_t c) noexcept { return c * granule; }

    std::array<node*, classes> free_{};
    std::array<std::size_t, classes> count_{};
    std::size_t cached_ = 0;
    std::ptrdiff_t live_ = 0;
    std::ptrdiff_t live_bytes_ = 0; ///< Of pooled frames; negative when others' frames were freed here.
    std::ptrdiff_t peak_bytes_ = 0; ///< The most `live_bytes_` since the last run ended.
    int runs_ = 0;
    std::size_t victim_ = classes;         ///< The class `make_room` takes from; `classes`: none chosen.
    std::array<unsigned, classes> used_{}; ///< The `epoch_` in which each class last gave a frame.
    unsigned epoch_ = 1;                   ///< Counts the ends of the thread's last runs.
};

/// An allocator that draws from the calling thread's frame pool (or, for a type aligned beyond
/// the pool's alignment, from `std::allocator`).
template <class T>
struct pool_allocator {
    using value_type = T;

    pool_allocator() = default;
    template <class U>
    pool_allocator(pool_allocator<U> const&) noexcept {}

    [[nodiscard]] T* allocate(std::size_t n) {
        if constexpr (alignof(T) > frame_pool::alignment) {
            return std::allocator<T>{}.allocate(n);
        } else {
            if (n > std::size_t(-1) / sizeof(T)) throw std::bad_array_new_length();
            return static_cast<T*>(frame_pool::local().allocate_block(n * sizeof(T)));
        }
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if constexpr (alignof(T) > frame_pool::alignment) {
            std::allocator<T>{}.deallocate(p, n);
        } else {
            frame_pool::local().deallocate_block(p, n * sizeof(T));
        }
    }

    template <class U>
    bool operator==(pool_allocator<U> const&) const noexcept {
        return true;
    }
};

} // namespace batch::detail
