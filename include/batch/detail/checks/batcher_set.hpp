#pragma once

// Which batcher serves which operation type, how each answers, and the one error
// `make_executor` gives for the first mistake in a set of batchers.

#include <batch/async_batcher.hpp>
#include <batch/batcher.hpp>
#include <batch/detail/base/settings.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/observer.hpp>
#include <batch/operation.hpp>
#include <batch/operation_set.hpp>
#include <batch/outcome.hpp>

#include <concepts>
#include <cstddef>
#include <ranges>
#include <span>
#include <tuple>
#include <type_traits>

namespace batch::detail {

/// Satisfied when `Batcher` serves `Op`, as a plain or an asynchronous batcher.
template <class Batcher, class Op>
concept serves = batcher_for<Batcher, Op> || async_batcher_for<Batcher, Op>;

/// How a batcher answers: with values, with per-operation outcomes, with nothing (for void
/// results), with a generator that yields further operations first, or later, as an
/// asynchronous batch.
enum class batcher_kind { values, outcomes, nothing, generator, async, invalid };

/// A std::vector, or any sized random-access range (such as a std::span over a buffer that the
/// batcher reuses from call to call), of `Element`.
template <class Range, class Element>
concept results_of = std::ranges::random_access_range<Range> && std::ranges::sized_range<Range> && std::same_as<
    std::ranges::range_value_t<Range>, Element>;

template <class Ret, class Op>
constexpr batcher_kind plain_kind() {
    using R = result_of_t<Op>;
    if constexpr (results_of<Ret, stored_t<R>>) {
        return batcher_kind::values;
    } else if constexpr (results_of<Ret, outcome<R>>) {
        return batcher_kind::outcomes;
    } else if constexpr (std::is_void_v<Ret> && std::is_void_v<R>) {
        return batcher_kind::nothing;
    } else {
        return batcher_kind::invalid;
    }
}

template <class Batcher, class Op, class Ops>
constexpr batcher_kind kind_of() {
    if constexpr (async_batcher_for<Batcher, Op>) { // submit wins over a call operator
        using results = decltype(std::declval<pending_t<Batcher, Op>&>().results());
        return plain_kind<std::remove_cvref_t<results>, Op>() == batcher_kind::invalid ? batcher_kind::invalid
                                                                                       : batcher_kind::async;
    } else {
        using ret = std::invoke_result_t<Batcher&, std::span<Op const>>;
        if constexpr (!is_gen_v<ret>) {
            return plain_kind<ret, Op>();
        } else if constexpr (std::is_same_v<
                                 typename ret::operation_set,
                                 Ops> && plain_kind<typename ret::value_type, Op>() != batcher_kind::invalid) {
            return batcher_kind::generator;
        } else {
            return batcher_kind::invalid;
        }
    }
}

/// True when a batcher's `max_batch_size`, if it has one, is a usable limit.
template <class Batcher>
inline constexpr bool good_limit = setting_of<max_batch_size_option, Batcher> == setting::absent
                                   || (setting_of<max_batch_size_option, Batcher> == setting::constant
                                       && max_batch_size_v<Batcher> > 0);

template <class Ops, class... Batchers>
struct batcher_set;

/// Which batcher serves which operation type, and the first mistake in a set of batchers.
template <class... Ops, class... Batchers>
struct batcher_set<operations<Ops...>, Batchers...> {
    template <class Op>
    static constexpr std::size_t count = (std::size_t{serves<Batchers, Op>} + ... + 0);

    template <class Batcher>
    static constexpr std::size_t served = (std::size_t{serves<Batcher, Ops>} + ... + 0);

    /// The position of the observer among `Batchers` (`sizeof...(Batchers)` when none).
    static constexpr std::size_t observer_index =
        detail::index_of<std::true_type, std::bool_constant<is_observed_v<Batchers>>...>;
    static constexpr std::size_t observers = (std::size_t{is_observed_v<Batchers>} + ... + 0);

    /// The position of the batcher for `Op` among `Batchers`.
    template <class Op>
    static constexpr std::size_t index = detail::index_of<std::true_type, std::bool_constant<serves<Batchers, Op>>...>;

    template <class Op>
    using batcher_t = std::tuple_element_t<index<Op>, std::tuple<Batchers...>>;

    template <class Op>
    static constexpr batcher_kind kind = kind_of<batcher_t<Op>, Op, operations<Ops...>>();

    /// True when `Op` has one batcher, an asynchronous one.
    template <class Op>
    static constexpr bool is_async = [] {
        if constexpr (count<Op> == 1) {
            return kind<Op> == batcher_kind::async;
        } else {
            return false;
        }
    }();

    /// True when some operation type has an asynchronous batcher.
    static constexpr bool has_async = (is_async<Ops> || ...);

    /// The most operations one call for `Op` takes (0: no limit): the smaller of the limits the
    /// operation type and its batcher declare.
    template <class Op>
    static constexpr std::size_t max_batch_size = [] {
        constexpr std::size_t of_op = max_batch_size_v<Op>;
        constexpr std::size_t of_batcher = max_batch_size_v<batcher_t<Op>>;
        if constexpr (of_op == 0 || of_batcher == 0) {
            return of_op + of_batcher;
        } else {
            return of_op < of_batcher ? of_op : of_batcher;
        }
    }();

    /// The first reason the batchers cannot serve `Op`, if any.
    enum class problem { none, missing, ambiguous, bad_result, bad_limit };

    template <class Op>
    static constexpr problem problem_for = [] {
        if constexpr (count<Op> == 0) {
            return problem::missing;
        } else if constexpr (count<Op> > 1) {
            return problem::ambiguous;
        } else if constexpr (kind<Op> == batcher_kind::invalid) {
            return problem::bad_result;
        } else if constexpr (!good_limit<batcher_t<Op>>) {
            return problem::bad_limit;
        } else {
            return problem::none;
        }
    }();

    template <class Op>
    static constexpr bool op_ok = problem_for<Op> == problem::none;

    /// Reports the problem of `Op` with one static_assert whose "with Op = ..." line names the
    /// type; returns true, so that the assertion that called it adds no second error.
    template <class Op>
    static constexpr bool report() {
        constexpr auto p = problem_for<Op>;
        if constexpr (p == problem::missing) {
            static_assert(wrong<Op>, "batch: make_executor got no batcher for this operation type (see 'Op = ...'); "
                                     "pass a callable that takes std::span<const Op>");
        } else if constexpr (p == problem::ambiguous) {
            static_assert(wrong<Op>, "batch: make_executor got two batchers for this operation type (see 'Op = ...'); "
                                     "pass exactly one callable that takes std::span<const Op>");
        } else if constexpr (p == problem::bad_result) {
            static_assert(wrong<Op>,
                          "batch: the batcher for this operation type (see 'Op = ...') must return "
                          "std::vector<result_type>, std::vector<batch::outcome<result_type>>, a batch::gen over "
                          "the same operations producing either, or void when result_type is void (and so must "
                          "results() of an asynchronous batcher's pending batch)");
        } else if constexpr (p == problem::bad_limit) {
            static_assert(wrong<Op>, "batch: max_batch_size on the batcher for this operation type (see 'Op = ...') "
                                     "must be a compile-time constant of at least 1: write 'static constexpr "
                                     "std::size_t max_batch_size = 100;'");
        }
        return true;
    }

    template <class Batcher>
    static constexpr bool report_unused() {
        static_assert(wrong<Batcher>, "batch: make_executor got a batcher that serves no operation in its "
                                      "batch::operations<...> list (see 'Batcher = ...'); a batcher takes "
                                      "std::span<const Op> for some Op in the list");
        return true;
    }

    template <class First, class... Rest>
    static constexpr bool report_first_bad_op() {
        if constexpr (!op_ok<First>) {
            return report<First>();
        } else if constexpr (sizeof...(Rest) > 0) {
            return report_first_bad_op<Rest...>();
        } else {
            return true;
        }
    }

    template <class First, class... Rest>
    static constexpr bool report_first_unused() {
        if constexpr (served<First> == 0 && !is_observed_v<First>) {
            return report_unused<First>();
        } else if constexpr (sizeof...(Rest) > 0) {
            return report_first_unused<Rest...>();
        } else {
            return true;
        }
    }

    /// True when every operation has exactly one batcher with a valid result and every batcher
    /// serves some operation.
    static constexpr bool ok =
        (op_ok<Ops> && ...) && ((served<Batchers> > 0 || is_observed_v<Batchers>)&&...) && observers <= 1;

    /// Reports the first mistake with one static_assert (and then returns true, so that one
    /// mistake gives one error).
    static constexpr bool check() {
        if constexpr (!operations<Ops...>::valid) {
            return true; // batch::operations has reported the mistake
        } else if constexpr (!(op_ok<Ops> && ...)) {
            return report_first_bad_op<Ops...>();
        } else if constexpr (sizeof...(Batchers) > 0 && !((served<Batchers> > 0 || is_observed_v<Batchers>)&&...)) {
            return report_first_unused<Batchers...>();
        } else if constexpr (observers > 1) {
            static_assert(observers <= 1, "batch: make_executor got two observers; pass one batch::with_observer(...) "
                                          "(an observer may forward its events to others)");
            return true;
        } else {
            return true;
        }
    }
};

} // namespace batch::detail
