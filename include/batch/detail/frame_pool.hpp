#pragma once

#include <array>
#include <cstddef>
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
/// How many bytes of freed coroutine frames each thread keeps for reuse (64 MiB by default; 0
/// turns recycling off, e.g. for valgrind).
#define BATCH_FRAME_CACHE_BYTES (std::size_t{64} << 20)
#endif
#endif

namespace batch::detail {

/// Recycles coroutine frames: a freed frame goes to its thread's free list for its size class,
/// and the next frame of that class reuses it, so a program that runs generators over and over
/// stops calling the global allocator. Each thread has its own pool; a frame freed on another
/// thread than the one that made it simply joins that thread's pool.
///
/// With clang every frame is aligned to 64 bytes, pooled or not: clang lays out over-aligned
/// locals (up to 64 bytes) assuming the frame itself is that aligned, which the plain
/// `operator new` does not promise. g++ aligns such locals itself, so there frames come from
/// the plain `operator new`, which keeps them densely packed.
class frame_pool {
public:
    static constexpr std::size_t granule = 32;
    static constexpr std::size_t classes = 64; ///< Frames up to 2 KiB are pooled.
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

    void* allocate(std::size_t size) {
        ++live_;
        std::size_t const c = class_of(size);
        if (c >= classes) return obtain(size);
        if (node* n = free_[c]) {
            free_[c] = n->next;
            --count_[c];
            cached_ -= block_size(c);
            return n;
        }
        return obtain(block_size(c));
    }

    void deallocate(void* p, std::size_t size) noexcept {
        --live_;
        std::size_t const c = class_of(size);
        if (c >= classes) {
            release(p, size);
            return;
        }
        // When full, make room by freeing from the class that holds the most, so that frames
        // of one size cannot keep the others from being recycled.
        while (cached_ + block_size(c) > BATCH_FRAME_CACHE_BYTES && evict_one()) {
        }
        if (cached_ + block_size(c) > BATCH_FRAME_CACHE_BYTES) {
            release(p, block_size(c));
            return;
        }
        free_[c] = ::new (p) node{free_[c]};
        ++count_[c];
        cached_ += block_size(c);
    }

    /// The calling thread's pool.
    static frame_pool& local() noexcept {
        thread_local frame_pool pool;
        return pool;
    }

private:
    struct node {
        node* next;
    };

    bool evict_one() noexcept {
        std::size_t fullest = classes;
        std::size_t most = 0;
        for (std::size_t c = 0; c < classes; ++c) {
            if (count_[c] * block_size(c) > most) {
                most = count_[c] * block_size(c);
                fullest = c;
            }
        }
        if (fullest == classes) return false;
        node* n = free_[fullest];
        free_[fullest] = n->next;
        --count_[fullest];
        cached_ -= block_size(fullest);
        release(n, block_size(fullest));
        return true;
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
};

} // namespace batch::detail
