#pragma once

#include <batch/error.hpp>
#include <batch/gen.hpp>

#include <any>
#include <cstddef>
#include <functional>
#include <span>
#include <vector>

/// The runtime-typed baseline: the original project's design, in C++. Operations derive from a
/// polymorphic base and name their batcher at run time; batchers are grouped by runtime identity
/// (`equals` and `hash`, like the original's Batcher objects); results are type-erased in
/// `std::any`. Generators, the round scheduler, the ready queue, frame recycling and the error
/// semantics are the typed library's own (`batch::gen`, `detail::scheduler`); what differs is the
/// bucket set: a hash map from batcher to bucket instead of one static bucket per type, a
/// virtual call per operation to find its batcher, a virtual call per batch, and `std::any`
/// per result.
namespace batch::dynamic {

/// The operation set of runtime-typed generators: they may yield any `dynamic::operation`.
struct ops {
    static constexpr bool runtime_typed = true;
};

/// A generator over runtime-typed operations.
template <class T>
using gen = batch::gen<T, ops>;

class batcher;

/// The base of every runtime-typed operation: it names, at run time, the batcher that serves it.
class operation {
public:
    virtual ~operation() = default;

    /// The batcher for this operation; operations whose batchers are equal share a call.
    [[nodiscard]] virtual batcher& get_batcher() const = 0;

protected:
    operation() = default;
    operation(operation const&) = default;
    operation& operator=(operation const&) = default;
};

/// A runtime-typed operation whose result is `R` (possibly `void`).
template <class R>
class operation_of : public operation {
public:
    using result_type = R;
};

/// Serves runtime-typed operations: all pending operations whose batchers are equal, at once.
class batcher {
public:
    virtual ~batcher() = default;

    /// One result per operation, in order: each holds the operation's `result_type` (nothing,
    /// for `void`), or a `std::exception_ptr` that fails that operation alone.
    virtual std::vector<std::any> batch(std::span<operation const* const> ops) = 0;

    /// For a batcher that yields further operations first (`yields()` is true): a generator of
    /// the results. The span stays valid until the generator completes.
    virtual gen<std::vector<std::any>> batch_gen(std::span<operation const* const>) {
        throw usage_error("batch::dynamic: a batcher whose yields() is true must override batch_gen");
    }

    /// True when this batcher answers with `batch_gen` rather than `batch`.
    [[nodiscard]] virtual bool yields() const noexcept { return false; }

    /// Runtime identity: by default each batcher object is its own.
    [[nodiscard]] virtual bool equals(batcher const& other) const noexcept { return this == &other; }
    [[nodiscard]] virtual std::size_t hash() const noexcept { return std::hash<batcher const*>{}(this); }

protected:
    batcher() = default;
    batcher(batcher const&) = default;
    batcher& operator=(batcher const&) = default;
};

} // namespace batch::dynamic
