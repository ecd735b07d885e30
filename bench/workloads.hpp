#pragma once

// The programs of WORKLOADS.md, written once for both executors so that `typed` and `dynamic`
// run the same code. A world `W` supplies the generator types and the operations:
//   W::gen<T>, W::get(key), W::identity(value)   for W1 to W4;
//   W::wide_gen<T>, W::get_n<K>(key)              for W5's eight operation types.

#include <boost/hana/tuple.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace bench {

/// The fan-out root: yields N children at once (one vector) and returns the sum of their results.
template <class Root, class Child, class MakeChild>
Root fan_out(int n, MakeChild make_child) {
    std::vector<Child> children;
    children.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) children.push_back(make_child(i));
    auto results = co_yield std::move(children);
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    co_return sum;
}

// W1: each child yields one get and returns its result + 1.
template <class W>
typename W::template gen<int> w1_child(int i) {
    int r = co_yield W::get(i);
    co_return r + 1;
}

template <class W>
typename W::template gen<std::int64_t> w1_root(int n) {
    using gen_int = typename W::template gen<int>;
    return fan_out<typename W::template gen<std::int64_t>, gen_int>(n, [](int i) { return w1_child<W>(i); });
}

// W2: the original README at scale.
template <class W>
typename W::template gen<int> w2_user(int i) {
    int r = co_yield W::get(i);
    co_return r;
}

template <class W>
typename W::template gen<int> w2_spouse(int i, int n) {
    int r = co_yield W::get(1'000'000 + i);
    int spouse = co_yield w2_user<W>((r / 2 - 1'000'000 + 1) % n);
    co_return spouse;
}

template <class W>
typename W::template gen<int> w2_spouses(int i, int n) {
    auto [u, s] = co_yield boost::hana::make_tuple(w2_user<W>(i), w2_spouse<W>(i, n));
    co_return u + s;
}

template <class W>
typename W::template gen<std::int64_t> w2_root(int n) {
    using gen_int = typename W::template gen<int>;
    return fan_out<typename W::template gen<std::int64_t>, gen_int>(n, [n](int i) { return w2_spouses<W>(i, n); });
}

// W3: N sequential yields.
template <class W>
typename W::template gen<std::int64_t> w3_chain(int n) {
    std::int64_t sum = 0;
    for (int i = 0; i < n; ++i) {
        int r = co_yield W::get(i);
        sum += r;
    }
    co_return sum;
}

// W4: Fibonacci with operations at every node.
template <class W>
typename W::template gen<int> w4_fib(int n) {
    if (n <= 1) {
        int one = co_yield W::identity(1);
        co_return one;
    }
    auto [i, j] = co_yield boost::hana::make_tuple(W::identity(n - 1), W::identity(n - 2));
    auto [a, b] = co_yield boost::hana::make_tuple(w4_fib<W>(i), w4_fib<W>(j));
    co_return a + b;
}

// W5: eight operation types; each child yields one of each in a Hana tuple.
template <class W>
typename W::template wide_gen<int> w5_child(int i) {
    auto [a, b, c, d, e, f, g, h] = co_yield boost::hana::make_tuple(
        W::template get_n<0>(i), W::template get_n<1>(i), W::template get_n<2>(i), W::template get_n<3>(i),
        W::template get_n<4>(i), W::template get_n<5>(i), W::template get_n<6>(i), W::template get_n<7>(i));
    co_return a + b + c + d + e + f + g + h;
}

template <class W>
typename W::template wide_gen<std::int64_t> w5_root(int n) {
    using gen_int = typename W::template wide_gen<int>;
    return fan_out<typename W::template wide_gen<std::int64_t>, gen_int>(n, [](int i) { return w5_child<W>(i); });
}

} // namespace bench
