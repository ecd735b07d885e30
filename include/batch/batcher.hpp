#pragma once

#include <batch/operation.hpp>

#include <concepts>
#include <span>

namespace batch {

/// Satisfied by a callable that can serve operations of type `Op` (called with all the
/// pending operations of that type at once). What it may return is checked by `make_executor`
/// (see detail/checks/batcher_set.hpp); an asynchronous batcher is described in async_batcher.hpp.
template <class Batcher, class Op>
concept batcher_for = operation<Op> && std::invocable<Batcher&, std::span<Op const>>;

} // namespace batch
