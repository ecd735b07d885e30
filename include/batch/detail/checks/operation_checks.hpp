#pragma once

// What `batch::operations<...>` checks of each type it lists, and the one error it gives for the
// first mistake. (A missing hash is reported where a hash is first used, so that a
// `std::hash` specialised after the operation set still counts: see `batch::operation_hash`.)

#include <batch/cache.hpp>
#include <batch/detail/base/settings.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/operation.hpp>

#include <concepts>
#include <cstddef>
#include <tuple>
#include <type_traits>

namespace batch::detail {

/// A result an operation may have: `void` or a non-const, non-array object type.
template <class R>
inline constexpr bool
    value_result = std::is_void_v<R> || (std::is_object_v<R> && !std::is_const_v<R> && !std::is_array_v<R>);

/// The first reason `Op` cannot serve as an operation type, if any.
enum class operation_problem {
    none,
    not_object,
    no_result_type,
    bad_result_type,
    not_movable,
    bad_batch_key,
    bad_flag,
    bad_max_batch_size,
    failures_without_cache,
    uncached_policy,
    unsteady_clock,
    bad_cache_policy,
    no_equality,
    result_not_copyable,
    key_not_copyable
};

/// True when `Op` says `static constexpr bool cacheable = false;`.
template <class Op>
constexpr bool says_not_cacheable() {
    if constexpr (setting_of<cacheable_option, Op> == setting::constant) {
        return !option_or<cacheable_option, Op>(true);
    } else {
        return false;
    }
}

/// True when the `cache_policy` of `Op` has a member template `cache<Op, Entry>` meeting `cache_for`.
template <class Op>
constexpr bool valid_cache_policy_of() {
    if constexpr (requires { typename policy_t<Op>::template cache<Op, cache_entry_t<Op>>; }) {
        return cache_for<typename policy_t<Op>::template cache<Op, cache_entry_t<Op>>, Op, cache_entry_t<Op>>;
    } else {
        return false;
    }
}
template <class Op>
inline constexpr bool valid_cache_policy = valid_cache_policy_of<Op>();

/// True when the `cache_policy` of `Op` names a `clock` that is not steady.
template <class Op>
constexpr bool unsteady_policy_clock() {
    if constexpr (requires { typename policy_t<Op>::clock; }) {
        return !policy_t<Op>::clock::is_steady;
    } else {
        return false;
    }
}

template <class Op>
constexpr operation_problem problem_of() {
    using enum operation_problem;
    if constexpr (!std::is_object_v<Op>) {
        return not_object;
    } else if constexpr (!requires { typename operation_traits<Op>::result_type; }) {
        return no_result_type;
    } else if constexpr (!value_result<result_of_t<Op>>) {
        return bad_result_type;
    } else if constexpr (!std::move_constructible<Op>) {
        return not_movable;
    } else if constexpr (names_batch_key<Op> && !keyed_operation<Op>) {
        return bad_batch_key;
    } else if constexpr (setting_of<deduplicate_option, Op> > setting::constant
                         || setting_of<cacheable_option, Op> > setting::constant
                         || setting_of<cache_failures_option, Op> > setting::constant) {
        return bad_flag;
    } else if constexpr (setting_of<max_batch_size_option, Op> > setting::constant
                         || (setting_of<max_batch_size_option, Op> == setting::constant && max_batch_size_v<Op> == 0)) {
        return bad_max_batch_size;
    } else if constexpr (caches_failures_v<Op> && !caches_v<Op>) {
        return failures_without_cache;
    } else if constexpr (has_cache_policy<Op> && says_not_cacheable<Op>()) {
        return uncached_policy;
    } else if constexpr (deduplicates_v<Op> && !std::equality_comparable<Op>) {
        return no_equality;
    } else if constexpr (deduplicates_v<Op> && !std::copy_constructible<stored_t<result_of_t<Op>>>) {
        return result_not_copyable;
    } else if constexpr (caches_v<Op> && !std::copy_constructible<Op>) {
        return key_not_copyable;
    } else if constexpr (has_cache_policy<Op> && unsteady_policy_clock<Op>()) {
        return unsteady_clock;
    } else if constexpr (has_cache_policy<Op> && !valid_cache_policy<Op>) {
        return bad_cache_policy;
    } else {
        return none;
    }
}

/// True when `Op` can serve as an operation type.
template <class Op>
inline constexpr bool usable_operation = problem_of<Op>() == operation_problem::none;

/// Reports the problem of `Op` with one static_assert whose "with Op = ..." line names the type;
/// returns true, so that the assertion that called it adds no second error.
template <class Op>
constexpr bool report_operation() {
    using enum operation_problem;
    constexpr auto problem = problem_of<Op>();
    if constexpr (problem == not_object) {
        static_assert(wrong<Op>, "batch: batch::operations<...> lists a type that is not an object type (see "
                                 "'Op = ...'); list the operation structs themselves, not references to them");
    } else if constexpr (problem == no_result_type) {
        static_assert(wrong<Op>, "batch: this operation type (see 'Op = ...') has no result type; give it a nested "
                                 "'using result_type = ...;' or specialise batch::operation_traits for it");
    } else if constexpr (problem == bad_result_type) {
        static_assert(wrong<Op>, "batch: the result_type of this operation (see 'Op = ...') must be void or a "
                                 "non-const value type, not a reference, const or an array; use a value or a pointer");
    } else if constexpr (problem == not_movable) {
        static_assert(wrong<Op>, "batch: this operation type (see 'Op = ...') must be move-constructible");
    } else if constexpr (problem == bad_batch_key) {
        static_assert(wrong<Op>, "batch: the batch_key of this operation (see 'Op = ...') cannot group it: declare "
                                 "'batch_key() const', a const member function returning a type that has ==");
    } else if constexpr (problem == bad_flag) {
        static_assert(wrong<Op>, "batch: deduplicate, cacheable and cache_failures on this operation (see 'Op = "
                                 "...') must be compile-time constants: write 'static constexpr bool deduplicate = "
                                 "true;'");
    } else if constexpr (problem == bad_max_batch_size) {
        static_assert(wrong<Op>, "batch: max_batch_size on this operation (see 'Op = ...') must be a compile-time "
                                 "constant of at least 1: write 'static constexpr std::size_t max_batch_size = 100;'");
    } else if constexpr (problem == no_equality) {
        static_assert(wrong<Op>, "batch: a deduplicate or cacheable operation (see 'Op = ...') needs ==; add "
                                 "'bool operator==(Op const&) const = default;' to it");
    } else if constexpr (problem == result_not_copyable) {
        static_assert(wrong<Op>, "batch: a deduplicate or cacheable operation (see 'Op = ...') gives one result to "
                                 "several askers, so its result_type must be copyable");
    } else if constexpr (problem == failures_without_cache) {
        static_assert(wrong<Op>, "batch: cache_failures on this operation (see 'Op = ...') needs a cache: add "
                                 "'static constexpr bool cacheable = true;' or a cache_policy");
    } else if constexpr (problem == uncached_policy) {
        static_assert(wrong<Op>, "batch: this operation (see 'Op = ...') has a cache_policy but says cacheable = "
                                 "false; remove one of the two");
    } else if constexpr (problem == bad_cache_policy) {
        static_assert(wrong<Op>, "batch: the cache_policy of this operation (see 'Op = ...') must have a member "
                                 "template cache<Op, Entry> meeting batch::cache_for (find, insert_or_assign, "
                                 "erase, clear); use batch::unbounded_cache, lru_cache<N> or expiring_cache<D, N>");
    } else if constexpr (problem == unsteady_clock) {
        static_assert(wrong<Op>, "batch: the cache_policy of this operation (see 'Op = ...') reads a clock that is "
                                 "not steady (it may go back); give expiring_cache a steady clock, such as "
                                 "std::chrono::steady_clock, the default");
    } else if constexpr (problem == key_not_copyable) {
        static_assert(wrong<Op>, "batch: a cacheable operation (see 'Op = ...') is kept as the key of its cached "
                                 "result, so it must be copyable");
    }
    return true;
}

/// Reports the first unusable operation type in `Ops`, or a duplicate: one mistake, one error.
template <class... Ops>
constexpr bool report_operations() {
    constexpr bool usable[] = {usable_operation<Ops>..., true};
    constexpr std::size_t first_bad = [&] {
        std::size_t i = 0;
        while (i < sizeof...(Ops) && usable[i]) ++i;
        return i;
    }();
    if constexpr (first_bad < sizeof...(Ops)) {
        using bad = std::tuple_element_t<first_bad, std::tuple<Ops...>>;
        return report_operation<bad>();
    } else {
        static_assert(all_distinct<Ops...>, "batch: batch::operations<...> lists the same operation type twice; "
                                            "list each operation type once");
        return true;
    }
}

} // namespace batch::detail
