#pragma once

#include <batch/detail/base/settings.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/outcome.hpp>
#include <batch/unit.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <type_traits>

namespace batch {

namespace detail {

template <class Op>
concept has_nested_result_type = requires {
    typename Op::result_type;
};

template <class Op>
struct default_operation_traits {};

template <has_nested_result_type Op>
struct default_operation_traits<Op> {
    using result_type = typename Op::result_type;
};

} // namespace detail

/// Describes an operation type; specialise it to adapt a type you cannot edit. A specialisation
/// names `result_type` and may carry every option an operation type may declare itself
/// (`deduplicate`, `cacheable`, `cache_policy`, `cache_failures`, `max_batch_size`), plus
/// `static K batch_key(Op const&)` and `static std::size_t hash(Op const&)`; what it declares
/// wins over what the type declares.
template <class Op>
struct operation_traits : detail::default_operation_traits<Op> {};

/// Satisfied by a move-constructible object type whose `operation_traits` name a `result_type`.
template <class Op>
concept operation = std::is_object_v<Op> && std::move_constructible<Op> && requires {
    typename operation_traits<Op>::result_type;
};

/// The result an operation produces (possibly `void`).
template <class Op>
using result_of_t = typename operation_traits<Op>::result_type;

namespace detail {

/// Where `Op` declares `Option`: its `batch::operation_traits` when they declare it, else `Op`.
template <class Option, class Op>
using declarer_t =
    std::conditional_t<Option::template of<operation_traits<Op>>() != setting::absent, operation_traits<Op>, Op>;

/// How `Op` declares `Option` (see `setting`).
template <class Option, class Op>
inline constexpr setting setting_of = Option::template of<declarer_t<Option, Op>>();

/// The value of the option `Option` of `Op`, or `fallback` when it declares none usable.
template <class Option, class Op, class T>
constexpr T option_or(T fallback) {
    if constexpr (setting_of<Option, Op> == setting::constant) {
        return T(Option::template value<declarer_t<Option, Op>>());
    } else {
        return fallback;
    }
}

/// The `batch_key` of an operation: its traits' `batch_key(op)`, or its own `batch_key()`.
struct key_of_fn {
    template <class Op>
    requires requires(Op const& op) { operation_traits<Op>::batch_key(op); }
    decltype(auto) operator()(Op const& op) const { return operation_traits<Op>::batch_key(op); }

    template <class Op>
    requires(!requires(Op const& op) { operation_traits<Op>::batch_key(op); }) && requires(Op const& op) {
        op.batch_key();
    }
    decltype(auto) operator()(Op const& op) const { return op.batch_key(); }
};
inline constexpr key_of_fn key_of{};

/// A member named `batch_key`, usable or not: a data member, a non-const or overloaded function.
template <class Op>
concept names_batch_key = requires {
    &Op::batch_key;
}
|| requires(Op& op) { op.batch_key(); }
|| requires { &operation_traits<Op>::batch_key; };

/// How `Op` is hashed, in the order the library looks: its traits' `hash(op)`, a member
/// `hash()`, a `hash_value(op)` found by argument-dependent lookup (Boost's convention, such as
/// a hidden friend), or `std::hash<Op>`.
enum class hash_source { traits, member, adl, std_hash, none };

template <class Op>
constexpr hash_source hash_source_of() {
    if constexpr (requires(Op const& op) {
                      { operation_traits<Op>::hash(op) } -> std::convertible_to<std::size_t>;
                  }) {
        return hash_source::traits;
    } else if constexpr (requires(Op const& op) {
                             { op.hash() } -> std::convertible_to<std::size_t>;
                         }) {
        return hash_source::member;
    } else if constexpr (requires(Op const& op) {
                             { hash_value(op) } -> std::convertible_to<std::size_t>;
                         }) {
        return hash_source::adl;
    } else if constexpr (requires(Op const& op) {
                             { std::hash<Op>{}(op) } -> std::convertible_to<std::size_t>;
                         }) {
        return hash_source::std_hash;
    } else {
        return hash_source::none;
    }
}

} // namespace detail

/// Satisfied when `Op` has a `batch_key` (a `batch_key() const` member, or a static
/// `batch_key(op)` in its traits) that groups its operations into batcher calls.
template <class Op>
concept keyed_operation = requires(Op const& op) {
    { detail::key_of(op) } -> std::equality_comparable;
};

/// The hash the library uses for operations of type `Op` (see `detail::hash_source`): a type
/// may carry its hash with it instead of specialising `std::hash`. It is looked up where an
/// operation is first hashed, at the end of the translation unit in practice, so a `std::hash`
/// specialised after the operation set and the generators over it is found.
template <class Op>
struct operation_hash {
    std::size_t operator()(Op const& op) const {
        constexpr auto source = detail::hash_source_of<Op>();
        if constexpr (source == detail::hash_source::traits) {
            return static_cast<std::size_t>(operation_traits<Op>::hash(op));
        } else if constexpr (source == detail::hash_source::member) {
            return static_cast<std::size_t>(op.hash());
        } else if constexpr (source == detail::hash_source::adl) {
            return static_cast<std::size_t>(hash_value(op));
        } else if constexpr (source == detail::hash_source::std_hash) {
            return std::hash<Op>{}(op);
        } else {
            static_assert(detail::wrong<Op>, "batch: a deduplicate or cacheable operation (see 'Op = ...') needs a "
                                             "hash: give it a member 'std::size_t hash() const', a friend "
                                             "'std::size_t hash_value(Op const&)', or specialise std::hash for it");
            return 0;
        }
    }
};

/// The most operations one batcher call of `T` (an operation or a batcher type) may take: its
/// `static constexpr std::size_t max_batch_size`, or 0 for no limit.
template <class T>
inline constexpr std::size_t max_batch_size_v = detail::option_or<detail::max_batch_size_option, T>(std::size_t{0});

} // namespace batch
