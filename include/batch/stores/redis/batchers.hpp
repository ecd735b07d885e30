#pragma once

// Redis batchers (target batch::redis): MGET for string values, and any command per operation
// (HGETALL, say) pipelined, on a `connection`, as asynchronous batchers.

#include <batch/async_batcher.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>
#include <batch/stores/detail/checks.hpp>
#include <batch/stores/detail/pipeline.hpp>
#include <batch/stores/redis/connection.hpp>
#include <batch/stores/redis/reply.hpp>

#include <poll.h>

#include <cstddef>
#include <cstdint>
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
/// result is a `std::optional` (empty for a key that holds nothing), or a plain value (such a key
/// then fails with `batch::redis::not_found`). MGET reads a key that holds another type (a
/// hash, say) as nothing, so when it answers nothing for some keys, the batch asks their TYPE
/// (one more round trip, only then): such a key fails its operation with `batch::redis::error`
/// ("... holds a hash, not a string").
template <class Op, class KeyOf, class Decode = as_string>
class get_batcher : public stores::detail::timeout_option<get_batcher<Op, KeyOf, Decode>> {
    using result_t = result_of_t<Op>;

public:
    /// `to` is a connection or a pool of them.
    get_batcher(stores::detail::connection_source<connection> to, KeyOf key_of, Decode decode = {})
        : to_(std::move(to)), key_of_(std::move(key_of)), decode_(std::move(decode)) {}

    /// The store, as observers and traces show it.
    [[nodiscard]] static constexpr std::string_view name() noexcept { return "redis"; }

    /// One batch: its MGET, then, if it answered nothing for some keys, their TYPEs.
    class pending {
    public:
        pending(get_batcher const* b, connection* c, std::span<Op const> ops) : batcher_(b), connection_(c), ops_(ops) {
            if (ops.empty()) return;
            std::vector<std::vector<std::string>> command(1);
            command[0].reserve(ops.size() + 1);
            command[0].push_back("MGET");
            for (auto const& op : ops) command[0].push_back(batcher_->key(op));
            number_ = c->send(command);
        }

        /// The store, as a timeout's message names it.
        [[nodiscard]] static constexpr std::string_view name() noexcept { return get_batcher::name(); }

        // Writable while the MGET's answer is filed (by this batch's pump or another's) and its
        // TYPEs are not sent yet: `advance` comes at once and sends them.
        [[nodiscard]] io_interest interest() const {
            io_interest want = connection_->interest();
            if (number_) want.answer = *number_;
            if (number_ && !types_sent_ && connection_->answered(*number_)) {
                want.events = static_cast<short>(want.events | POLLOUT);
            }
            return want;
        }
        void advance(short revents) {
            // An answer filed already (read for another batch on the connection) needs no read.
            if (!number_ || !connection_->answered(*number_)) connection_->pump(revents);
            if (!number_ || types_sent_ || !connection_->answered(*number_)) return;
            values_ = connection_->take(*std::exchange(number_, std::nullopt));
            reply const all(values_.at(0).get());
            if (all.is_error() || all.size() != ops_.size()) return; // results() says so
            std::vector<std::vector<std::string>> types;
            for (std::size_t i = 0; i < ops_.size(); ++i) {
                if (all[i].is_nil()) types.push_back({"TYPE", batcher_->key(ops_[i])});
            }
            if (types.empty()) return;
            types_sent_ = true;
            number_ = connection_->send(types);
        }
        [[nodiscard]] bool done() const { return !number_ ? true : types_sent_ && connection_->answered(*number_); }
        std::vector<outcome<result_t>> results() {
            if (number_) { // the TYPEs
                types_ = connection_->take(*std::exchange(number_, std::nullopt));
            }
            return batcher_->answer(ops_, values_, types_);
        }
        void cancel() {
            if (number_) connection_->abandon(*number_);
        }

    private:
        get_batcher const* batcher_;
        connection* connection_;
        std::span<Op const> ops_;
        std::optional<std::uint64_t> number_; ///< The answer awaited: the MGET's, then the TYPEs'.
        bool types_sent_ = false;
        std::vector<detail::reply_ptr> values_; ///< The MGET's answer.
        std::vector<detail::reply_ptr> types_;  ///< The TYPE of each key MGET answered nothing for.
    };

    pending submit(std::span<Op const> ops) const { return pending(this, &to_.pick(), ops); }

private:
    [[nodiscard]] std::string key(Op const& op) const { return detail::key_text(std::invoke(key_of_, op)); }

    // The results of a batch from the MGET's answer and the TYPEs, in the order of `ops`.
    std::vector<outcome<result_t>> answer(std::span<Op const> ops, std::vector<detail::reply_ptr> const& values,
                                          std::vector<detail::reply_ptr> const& types) const {
        std::vector<outcome<result_t>> out;
        if (ops.empty()) return out;
        reply const all(values.at(0).get());
        if (all.is_error()) throw error("batch::redis: " + std::string(all.text()));
        if (all.size() != ops.size())
            throw error("batch::redis: MGET answered " + std::to_string(all.size()) + " values");
        out.reserve(ops.size());
        std::size_t nothing = 0; // MGET's nils so far, and the index of the next TYPE
        for (std::size_t i = 0; i < ops.size(); ++i) {
            reply const r = all[i];
            if (r.is_nil()) {
                std::string_view const type = nothing < types.size() ? reply(types[nothing].get()).text() : "none";
                ++nothing;
                if (type == "none") {
                    out.push_back(
                        stores::detail::missing<result_t, not_found>("batch::redis", "nothing at key", key(ops[i])));
                } else if (type == "string") { // set between the MGET and the TYPE
                    // Made in place: a moved temporary outcome makes g++ 12 -O2 warn (maybe-uninitialized).
                    out.emplace_back(std::make_exception_ptr(
                        error("batch::redis: the key '" + key(ops[i]) + "' was set while it was read; read it again")));
                } else {
                    out.emplace_back(
                        std::make_exception_ptr(error("batch::redis: the key '" + key(ops[i]) + "' holds a "
                                                      + std::string(type) + ", not a string (WRONGTYPE)")));
                }
                continue;
            }
            out.push_back(stores::detail::decoded<result_t, error>(
                "batch::redis", [&] { return key(ops[i]); }, [&] { return std::invoke(decode_, r.text()); }));
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
