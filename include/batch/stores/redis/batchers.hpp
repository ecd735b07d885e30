#pragma once

// Redis batchers (target batch::redis): MGET for string values, and any command per operation
// (HGETALL, say) pipelined, on a `connection`, as asynchronous batchers.

#include <batch/detail/base/traits.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>
#include <batch/stores/detail/checks.hpp>
#include <batch/stores/detail/pipeline.hpp>
#include <batch/stores/redis/connection.hpp>
#include <batch/stores/redis/reply.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace batch::redis {

/// Takes a string value as it is.
struct as_string {
    std::string operator()(std::string_view value) const { return std::string(value); }
};

/// Gets string values: one MGET per batch. `key_of(op)` gives the key (a string or an integer),
/// `decode(value)` the result from the value (by default the string itself). An operation's
/// result is a `std::optional` (empty for a key that holds nothing, or not a string), or a plain
/// value (such a key then fails with `batch::redis::not_found`).
template <class Op, class KeyOf, class Decode = as_string>
class get_batcher : public stores::detail::timeout_option<get_batcher<Op, KeyOf, Decode>> {
    using result_t = result_of_t<Op>;

public:
    /// `to` is a connection or a pool of them.
    get_batcher(stores::detail::connection_source<connection> to, KeyOf key_of, Decode decode = {})
        : to_(std::move(to)), key_of_(std::move(key_of)), decode_(std::move(decode)) {}

    /// The store, as observers and traces show it.
    [[nodiscard]] static constexpr std::string_view name() noexcept { return "redis"; }

    using pending = stores::detail::pending<get_batcher, Op, connection>;

    pending submit(std::span<Op const> ops) const {
        connection& c = to_.pick();
        if (ops.empty()) return pending(this, &c, ops, std::nullopt);
        std::vector<std::vector<std::string>> command(1);
        command[0].reserve(ops.size() + 1);
        command[0].push_back("MGET");
        for (auto const& op : ops) command[0].push_back(detail::key_text(std::invoke(key_of_, op)));
        return pending(this, &c, ops, c.send(command));
    }

    /// The results of a batch from its replies, in the order of `ops`.
    std::vector<outcome<result_t>> answer(std::span<Op const> ops, std::vector<detail::reply_ptr> replies) const {
        std::vector<outcome<result_t>> out;
        if (ops.empty()) return out;
        reply const all(replies.at(0).get());
        if (all.is_error()) throw error("batch::redis: " + std::string(all.text()));
        if (all.size() != ops.size())
            throw error("batch::redis: MGET answered " + std::to_string(all.size()) + " values");
        out.reserve(ops.size());
        for (std::size_t i = 0; i < ops.size(); ++i) {
            reply const r = all[i];
            if (r.is_nil()) {
                out.push_back(stores::detail::missing<result_t, not_found>(
                    "batch::redis", "no string (nothing, or a value of another type) at key",
                    detail::key_text(std::invoke(key_of_, ops[i]))));
                continue;
            }
            out.push_back(stores::detail::decoded<result_t, error>(
                "batch::redis", [&] { return detail::key_text(std::invoke(key_of_, ops[i])); },
                [&] { return std::invoke(decode_, r.text()); }));
        }
        return out;
    }

private:
    stores::detail::connection_source<connection> to_;
    KeyOf key_of_;
    Decode decode_;
};

namespace detail {

/// A map from field to value that `hgetall` fills.
template <class Map>
concept field_map = requires(Map m, std::string_view field, std::string_view value) {
    m.emplace(field, value);
};

/// The checks of `get` and `cluster_get` (see stores/detail/checks.hpp): one error per mistake.
template <class Op, class KeyOf, class Decode>
consteval bool get_checks() {
    using result_t = result_of_t<Op>;
    constexpr bool keyed = stores::detail::key_callable<Op, KeyOf>;
    static_assert(keyed, "batch: redis::get/cluster_get: key_of must be callable with the operation (an Op "
                         "const&), such as &Op::key");
    constexpr bool key_typed = stores::detail::key_is_integer_or_string<Op, KeyOf>();
    static_assert(key_typed, "batch: redis::get/cluster_get: key_of(op) must give a string or an integer");
    constexpr bool reads = stores::detail::decoder_callable<Decode, std::string_view>;
    static_assert(reads, "batch: redis::get/cluster_get: the decoder must be callable with the value, a "
                         "std::string_view");
    constexpr bool gives = stores::detail::decoder_gives<result_t, Decode, std::string_view>();
    static_assert(gives || !std::is_same_v<Decode, as_string>,
                  "batch: redis::get/cluster_get read strings: for an operation whose result_type is not a "
                  "std::string (or a std::optional of one), pass a decoder: get<Op>(connection, key_of, "
                  "[](std::string_view value) { return ...; })");
    static_assert(gives || std::is_same_v<Decode, as_string>,
                  "batch: redis::get/cluster_get: the decoder must return the operation's result_type (for a "
                  "std::optional result, its value type)");
    return keyed && key_typed && reads && gives;
}

} // namespace detail

/// An MGET batcher for `Op` (see `get_batcher`). A mistake in what it is given (a `key_of` that
/// does not give a string or an integer, no decoder for a result that is not a string, a
/// decoder that does not take a `std::string_view` or does not give the result) is one
/// `batch: ...` error here.
template <class Op, class KeyOf, class Decode = as_string>
[[nodiscard]] auto get(stores::detail::connection_source<connection> to, KeyOf key_of, Decode decode = {}) {
    if constexpr (detail::get_checks<Op, KeyOf, Decode>()) {
        return get_batcher<Op, KeyOf, Decode>(std::move(to), std::move(key_of), std::move(decode));
    } else {
        return stores::detail::not_built<Op>();
    }
}

/// One command per operation, all of a batch pipelined: `command(op)` gives the command's
/// arguments (`{"HGETALL", key}`), `decode(reply)` the operation's result from its reply. An
/// error reply fails only its operation, with Redis's message.
template <class Op, class Command, class Decode>
class command_batcher : public stores::detail::timeout_option<command_batcher<Op, Command, Decode>> {
    using result_t = result_of_t<Op>;

public:
    /// `to` is a connection or a pool of them.
    command_batcher(stores::detail::connection_source<connection> to, Command command, Decode decode)
        : to_(std::move(to)), command_(std::move(command)), decode_(std::move(decode)) {}

    /// The store, as observers and traces show it.
    [[nodiscard]] static constexpr std::string_view name() noexcept { return "redis"; }

    using pending = stores::detail::pending<command_batcher, Op, connection>;

    pending submit(std::span<Op const> ops) const {
        connection& c = to_.pick();
        if (ops.empty()) return pending(this, &c, ops, std::nullopt);
        std::vector<std::vector<std::string>> commands;
        commands.reserve(ops.size());
        for (auto const& op : ops) commands.push_back(std::invoke(command_, op));
        return pending(this, &c, ops, c.send(commands));
    }

    /// The results of a batch from its replies, in the order of `ops`.
    std::vector<outcome<result_t>> answer(std::span<Op const> ops, std::vector<detail::reply_ptr> replies) const {
        std::vector<outcome<result_t>> out;
        out.reserve(ops.size());
        for (std::size_t i = 0; i < ops.size(); ++i) {
            reply const r(replies.at(i).get());
            out.push_back(stores::detail::decoded<result_t, error>(
                "batch::redis", [&] { return key_of(ops[i]); },
                [&] {
                    if (r.is_error()) throw error("batch::redis: " + std::string(r.text()));
                    return std::invoke(decode_, r, ops[i]);
                }));
        }
        return out;
    }

private:
    // An operation's key, for messages: its command's first argument.
    std::string key_of(Op const& op) const {
        auto const args = std::invoke(command_, op);
        return args.size() > 1 ? std::string(args[1]) : std::string();
    }

    stores::detail::connection_source<connection> to_;
    Command command_;
    Decode decode_;
};

/// Gets whole hashes: one HGETALL per operation, pipelined. An operation's result is a map from
/// field to value (`std::map<std::string, std::string>` or `std::unordered_map`), or a
/// `std::optional` of one (empty for a key that holds nothing; without the optional such a key
/// fails with `batch::redis::not_found`).
template <class Op, class KeyOf>
[[nodiscard]] auto hgetall(stores::detail::connection_source<connection> to, KeyOf key_of) {
    using result_t = result_of_t<Op>;
    using map_t = typename batch::detail::unwrap_optional<result_t>::type;
    constexpr bool keyed = stores::detail::key_callable<Op, KeyOf>;
    static_assert(keyed, "batch: redis::hgetall: key_of must be callable with the operation (an Op const&), such "
                         "as &Op::key");
    constexpr bool key_typed = stores::detail::key_is_integer_or_string<Op, KeyOf>();
    static_assert(key_typed, "batch: redis::hgetall: key_of(op) must give a string or an integer");
    constexpr bool mapped = detail::field_map<map_t>;
    static_assert(mapped, "batch: redis::hgetall: the operation's result_type must be a map from field to value "
                          "(such as std::map<std::string, std::string>) or a std::optional of one");
    if constexpr (!(keyed && key_typed && mapped)) {
        return stores::detail::not_built<Op>();
    } else {
        auto command = [key_of](Op const& op) {
            return std::vector<std::string>{"HGETALL", detail::key_text(std::invoke(key_of, op))};
        };
        // [=]: key_of is captured only where a missing key is an error.
        auto decode = [=](reply const& r, Op const& op) -> result_t {
            if (r.size() == 0) {
                auto none = stores::detail::missing<result_t, not_found>("batch::redis", "nothing at key",
                                                                         detail::key_text(std::invoke(key_of, op)));
                if (auto e = none.error()) std::rethrow_exception(e);
                return std::move(none).value();
            }
            map_t fields;
            for (std::size_t i = 0; i + 1 < r.size(); i += 2) fields.emplace(r[i].text(), r[i + 1].text());
            return fields;
        };
        return command_batcher<Op, decltype(command), decltype(decode)>(to, std::move(command), std::move(decode));
    }
}

} // namespace batch::redis
