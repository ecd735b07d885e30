#pragma once

#include <batch/detail/base/this_thread.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/error.hpp>
#include <batch/gen.hpp>
#include <batch/shared.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <variant>

namespace batch {
namespace detail {

template <class T>
struct is_tuple_like : std::false_type {};
template <class... Ts>
struct is_tuple_like<std::tuple<Ts...>> : std::true_type {};
template <class A, class B>
struct is_tuple_like<std::pair<A, B>> : std::true_type {};

inline std::size_t combine(std::size_t seed, std::size_t h) noexcept {
    return seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

/// Hashes memoisation keys: whatever std::hash accepts, and tuples, pairs and containers
/// (vectors, maps, sets) of such values, without the user writing anything.
struct memo_hash {
    template <class T>
    std::size_t operator()(T const& v) const {
        if constexpr (requires { std::hash<T>{}(v); }) {
            return std::hash<T>{}(v);
        } else if constexpr (is_tuple_like<T>::value) {
            return std::apply(
                [this](auto const&... xs) {
                    std::size_t seed = sizeof...(xs);
                    ((seed = combine(seed, (*this)(xs))), ...);
                    return seed;
                },
                v);
        } else if constexpr (std::ranges::range<T> && requires { typename T::hasher; }) {
            // Unordered containers: the hash must not depend on the iteration order.
            std::size_t sum = 0;
            for (auto const& x : v) sum += (*this)(x);
            return combine(std::ranges::distance(v), sum);
        } else if constexpr (std::ranges::range<T>) {
            std::size_t seed = 0;
            for (auto const& x : v) seed = combine(seed, (*this)(x));
            return combine(seed, static_cast<std::size_t>(std::ranges::distance(v)));
        } else {
            static_assert(wrong<T>, "batch: memoize needs arguments that std::hash can hash, or tuples, pairs, "
                                    "vectors, maps and sets of them (see 'T = ...'); specialise std::hash for it");
            return 0;
        }
    }
};

} // namespace detail

/// Remembers memoised generators by their arguments, for any number of functions (the original
/// project's GeneratorCache). It must outlive the functions `memoize` made with it.
///
/// Used from one thread at a time (it may be handed from one thread to another): a memoised
/// call, `clear()` or `size()` made while another thread is inside one of them throws
/// `batch::usage_error` instead of racing.
class memo_cache {
public:
    memo_cache() = default;
    memo_cache(memo_cache const&) = delete;
    memo_cache& operator=(memo_cache const&) = delete;

    /// Forgets every remembered generator and exception, for every function. Not from inside
    /// a memoised function's call (`batch::usage_error`).
    void clear() {
        in_use const guard(*this);
        if (depth_ > 1) throw usage_error("batch: memo_cache::clear called from inside a memoised function's call");
        tables_.clear();
    }

    /// How many argument lists are remembered, over all functions.
    [[nodiscard]] std::size_t size() const {
        in_use const guard(*this);
        std::size_t n = 0;
        for (auto const& [key, table] : tables_) n += table->size();
        return n;
    }

private:
    template <class Fn>
    friend class memoized;

    // Marks the cache as used by the calling thread while it lives (re-entrant on that thread:
    // a memoised function may call another); another thread meanwhile gets a usage_error. The
    // owner is taken with acquire and released with release, so handing the cache from one
    // thread to another between uses is synchronised.
    class in_use {
    public:
        explicit in_use(memo_cache const& c) : c_(c) {
            void const* const me = detail::this_thread();
            void const* owner = nullptr;
            if (!c_.owner_.compare_exchange_strong(owner, me, std::memory_order_acquire) && owner != me) {
                throw usage_error("batch: a memo_cache was used from two threads at once; give each thread its "
                                  "own cache, or hand it over between uses");
            }
            ++c_.depth_;
        }
        in_use(in_use const&) = delete;
        in_use& operator=(in_use const&) = delete;
        ~in_use() {
            if (--c_.depth_ == 0) c_.owner_.store(nullptr, std::memory_order_release);
        }

    private:
        memo_cache const& c_;
    };

    struct table_base {
        virtual ~table_base() = default;
        [[nodiscard]] virtual std::size_t size() const noexcept = 0;
    };

    template <class Key, class Shared>
    struct table final : table_base {
        std::unordered_map<Key, std::variant<Shared, std::exception_ptr>, detail::memo_hash> entries;
        [[nodiscard]] std::size_t size() const noexcept override { return entries.size(); }
    };

    template <class Key, class Shared>
    table<Key, Shared>& table_for(std::size_t function) {
        auto& slot = tables_[{function, std::type_index(typeid(Key))}];
        if (!slot) slot = std::make_unique<table<Key, Shared>>();
        return static_cast<table<Key, Shared>&>(*slot);
    }

    std::size_t next_function() noexcept { return functions_.fetch_add(1, std::memory_order_relaxed); }

    struct key_hash {
        std::size_t operator()(std::pair<std::size_t, std::type_index> const& k) const noexcept {
            return detail::combine(k.first, k.second.hash_code());
        }
    };

    std::unordered_map<std::pair<std::size_t, std::type_index>, std::unique_ptr<table_base>, key_hash> tables_;
    std::atomic<std::size_t> functions_ = 0;
    mutable std::atomic<void const*> owner_{nullptr}; ///< The thread inside the cache, if any.
    mutable int depth_ = 0;                           ///< How deep that thread is: touched only by it.
};

/// A function whose calls with equal arguments share one generator (see `batch::memoize`).
template <class Fn>
class memoized {
public:
    memoized(memo_cache& cache, Fn fn) : cache_(&cache), fn_(std::move(fn)), id_(cache.next_function()) {}

    /// The shared generator for these arguments: made by calling the function the first time,
    /// remembered after. An exception the function throws is remembered too.
    template <class... Args>
    requires std::invocable<Fn&, Args&...>
    auto operator()(Args&&... args) const {
        using made = std::invoke_result_t<Fn&, Args&...>;
        static_assert(detail::is_gen_v<made>, "batch: memoize needs a function that returns a batch::gen");
        using result_t = shared<typename made::value_type, typename made::operation_set>;
        using key_t = std::tuple<std::decay_t<Args>...>;
        memo_cache::in_use const guard(*cache_);
        auto& entries = cache_->template table_for<key_t, result_t>(id_).entries;
        key_t key(std::forward<Args>(args)...);
        if (auto it = entries.find(key); it != entries.end()) {
            if (auto const* e = std::get_if<std::exception_ptr>(&it->second)) std::rethrow_exception(*e);
            return std::get<result_t>(it->second);
        }
        try {
            result_t made_shared = std::apply([this](auto&... a) { return share(std::invoke(fn_, a...)); }, key);
            entries.emplace(std::move(key), made_shared);
            return made_shared;
        } catch (...) {
            entries.emplace(std::move(key), std::current_exception());
            throw;
        }
    }

private:
    memo_cache* cache_;
    Fn fn_;
    std::size_t id_;
};

/// Memoises `fn`, a function returning a `batch::gen`: `f(args...)` returns a
/// `batch::shared` keyed by the arguments (compared with `==`, hashed with `std::hash`, or
/// elementwise for tuples, pairs, vectors, maps and sets), so `fn` runs once per key.
template <class Fn>
[[nodiscard]] memoized<std::decay_t<Fn>> memoize(memo_cache& cache, Fn&& fn) {
    return memoized<std::decay_t<Fn>>(cache, std::forward<Fn>(fn));
}

} // namespace batch
