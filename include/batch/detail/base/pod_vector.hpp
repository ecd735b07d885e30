#pragma once

#include <batch/detail/base/traits.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch::detail {

/// A growable array of trivially copyable values, for the two containers every operation and
/// generator touches: the ready queue and a batch's targets. Its append is a compare and a
/// store, inlined where it is called; growing is a separate function that is never inlined.
/// (std::vector's push_back, with its growth path folded in, was inlined or not by g++ 12
/// depending on unrelated code, which moved the fan-out benchmark by 20%.)
template <class T>
class pod_vector {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

public:
    pod_vector() noexcept = default;
    pod_vector(pod_vector&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
          capacity_(std::exchange(other.capacity_, 0)) {}
    pod_vector& operator=(pod_vector&& other) noexcept {
        if (this != &other) {
            release();
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
            capacity_ = std::exchange(other.capacity_, 0);
        }
        return *this;
    }
    pod_vector(pod_vector const&) = delete;
    pod_vector& operator=(pod_vector const&) = delete;
    ~pod_vector() { release(); }

    BATCH_HOT void push_back(T const& value) {
        if (size_ == capacity_) [[unlikely]]
            grow(size_ + 1);
        ::new (static_cast<void*>(data_ + size_)) T(value); // a trivial copy: T need not be assignable
        ++size_;
    }

    void pop_back() noexcept { --size_; }
    [[nodiscard]] T& front() noexcept { return data_[0]; }
    [[nodiscard]] T const& front() const noexcept { return data_[0]; }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] T* data() noexcept { return data_; }
    [[nodiscard]] T const* data() const noexcept { return data_; }
    [[nodiscard]] T* begin() noexcept { return data_; }
    [[nodiscard]] T* end() noexcept { return data_ + size_; }
    [[nodiscard]] T const* begin() const noexcept { return data_; }
    [[nodiscard]] T const* end() const noexcept { return data_ + size_; }
    T& operator[](std::size_t i) noexcept { return data_[i]; }
    T const& operator[](std::size_t i) const noexcept { return data_[i]; }

    void clear() noexcept { size_ = 0; }

    /// Keeps the first `n` values, or adds default values up to `n`.
    void resize(std::size_t n) {
        if (n > capacity_) grow(n);
        for (std::size_t i = size_; i < n; ++i) ::new (static_cast<void*>(data_ + i)) T{};
        size_ = n;
    }

    void reserve(std::size_t n) {
        if (n > capacity_) grow(n);
    }

    /// Replaces the contents with the values from `first` to `last`.
    void assign(T const* first, T const* last) {
        auto const n = static_cast<std::size_t>(last - first);
        if (n > capacity_) grow(n);
        if (n) std::memcpy(static_cast<void*>(data_), static_cast<void const*>(first), n * sizeof(T));
        size_ = n;
    }

    void swap(pod_vector& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(capacity_, other.capacity_);
    }

private:
    [[gnu::noinline]] void grow(std::size_t at_least) {
        std::size_t const capacity = std::max<std::size_t>({at_least, capacity_ * 2, 8});
        T* const bigger = static_cast<T*>(::operator new (capacity * sizeof(T), std::align_val_t{alignof(T)}));
        if (size_) std::memcpy(static_cast<void*>(bigger), static_cast<void const*>(data_), size_ * sizeof(T));
        release();
        data_ = bigger;
        capacity_ = capacity;
    }

    void release() noexcept {
        if (data_) ::operator delete (data_, std::align_val_t{alignof(T)});
        data_ = nullptr;
    }

    T* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

/// Where a batch keeps its operations: a `pod_vector` for trivially copyable ones (most are),
/// a `std::vector` for the others.
template <class Op>
using operation_vector = std::conditional_t<std::is_trivially_copyable_v<Op> && std::is_trivially_destructible_v<Op>,
                                            pod_vector<Op>, std::vector<Op>>;

} // namespace batch::detail
