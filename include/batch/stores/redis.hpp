#pragma once

// Redis batchers over hiredis (target batch::redis): MGET for string values, and any command per
// operation (HGETALL, say) pipelined, on one non-blocking connection, as asynchronous batchers.

#include <batch/async_batcher.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/detail/base/type_name.hpp>
#include <batch/error.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace batch::redis {

/// A failure reported by Redis (an error reply) or by the connection.
class error : public batch::error {
public:
    using batch::error::error;
};

/// A key holds nothing, where the operation's result is not a `std::optional`.
class not_found : public error {
public:
    using error::error;
};

/// One reply from Redis, as hiredis reads it.
class reply {
public:
    explicit reply(redisReply const* r) noexcept : r_(r) {}

    [[nodiscard]] bool is_nil() const noexcept { return r_->type == REDIS_REPLY_NIL; }
    [[nodiscard]] bool is_error() const noexcept { return r_->type == REDIS_REPLY_ERROR; }
    [[nodiscard]] bool is_array() const noexcept { return r_->type == REDIS_REPLY_ARRAY; }
    [[nodiscard]] bool is_integer() const noexcept { return r_->type == REDIS_REPLY_INTEGER; }
    /// The text of a string, status or error reply.
    [[nodiscard]] std::string_view text() const noexcept {
        return r_->str ? std::string_view(r_->str, r_->len) : std::string_view();
    }
    [[nodiscard]] long long integer() const noexcept { return r_->integer; }
    [[nodiscard]] std::size_t size() const noexcept { return is_array() ? r_->elements : 0; }
    [[nodiscard]] reply operator[](std::size_t i) const noexcept { return reply(r_->element[i]); }

private:
    redisReply const* r_;
};

namespace detail {

struct reply_deleter {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

struct context_deleter {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
};

/// A key as Redis takes it: a string, or an integer written in decimal.
template <class Key>
std::string key_text(Key const& k) {
    static_assert(std::is_integral_v<Key> || std::is_convertible_v<Key const&, std::string_view>,
                  "batch::redis: a key must be a string or an integer");
    return batch::detail::key_text(k);
}

} // namespace detail

/// A connection to Redis, non-blocking: the commands of a round's batches are written one after
/// another without waiting, and their replies, which come back in order, are filed by batch.
/// Shared by any number of batchers of one executor; it must outlive them. A lost connection
/// fails the batches in flight; it is not reopened silently: call `reconnect()`.
class connection {
public:
    /// Connects (waiting at most five seconds); throws `batch::redis::error`.
    connection(std::string host, int port) : host_(std::move(host)), port_(port) { open(); }
    /// Connects to "host:port".
    explicit connection(std::string_view address) : connection(host_of(address), port_of(address)) {}

    /// Connects again, for instance after the server was restarted; the batches in flight fail.
    void reconnect() {
        fail_all("batch::redis: the connection was reopened while this batch was in flight");
        open();
    }

    [[nodiscard]] bool connected() const noexcept { return !broken_; }

    /// Queues `commands` (each an argument list) as one batch; returns the number under which its
    /// replies will be filed.
    std::uint64_t send(std::vector<std::vector<std::string>> const& commands) {
        if (broken_) throw error(lost_ + " (call reconnect() on the connection)");
        std::vector<char const*> argv;
        std::vector<std::size_t> lengths;
        for (auto const& command : commands) {
            argv.clear();
            lengths.clear();
            for (auto const& a : command) {
                argv.push_back(a.data());
                lengths.push_back(a.size());
            }
            if (redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(), lengths.data())
                != REDIS_OK) {
                throw error(std::string("batch::redis: ") + context_->errstr);
            }
        }
        segments_.push_back({next_, commands.size(), {}});
        write();
        return next_++;
    }

    /// What the connection waits for: readable, and writable while commands are half written.
    [[nodiscard]] io_interest interest() const noexcept {
        return {context_->fd, static_cast<short>(POLLIN | (writing_ ? POLLOUT : 0))};
    }

    /// Writes what is left, reads what has come, and files the replies.
    void pump(short revents) {
        if (broken_) return;
        if (revents & POLLOUT) write();
        if (broken_) return;
        if ((revents & (POLLIN | POLLHUP | POLLERR)) && redisBufferRead(context_.get()) != REDIS_OK) {
            lost(std::string("batch::redis: ") + context_->errstr);
            return;
        }
        for (;;) {
            void* raw = nullptr;
            if (redisGetReplyFromReader(context_.get(), &raw) != REDIS_OK) {
                lost(std::string("batch::redis: ") + context_->errstr);
                return;
            }
            if (!raw) break;
            detail::reply_ptr r(static_cast<redisReply*>(raw));
            if (segments_.empty()) continue; // a reply to nothing of ours
            segment& s = segments_.front();
            s.replies.push_back(std::move(r));
            if (s.replies.size() == s.expected) {
                finish(std::move(s));
                segments_.pop_front();
            }
        }
    }

    [[nodiscard]] bool answered(std::uint64_t n) const { return answers_.count(n) != 0; }

    /// The replies numbered `n`, in command order; throws if the connection failed first.
    std::vector<detail::reply_ptr> take(std::uint64_t n) {
        auto node = answers_.extract(n);
        if (!node) throw error("batch::redis: no replies numbered " + std::to_string(n));
        if (!node.mapped().error.empty()) throw error(node.mapped().error);
        return std::move(node.mapped().replies);
    }

    /// The replies numbered `n` will be dropped when they come.
    void abandon(std::uint64_t n) {
        if (answers_.erase(n) == 0) abandoned_.push_back(n);
    }

private:
    struct segment {
        std::uint64_t number;
        std::size_t expected;
        std::vector<detail::reply_ptr> replies;
    };
    struct answer {
        std::vector<detail::reply_ptr> replies;
        std::string error;
    };

    static std::string host_of(std::string_view address) { return std::string(address.substr(0, address.rfind(':'))); }
    static int port_of(std::string_view address) {
        auto const digits = address.substr(address.rfind(':') + 1);
        int port = 0;
        std::from_chars(digits.data(), digits.data() + digits.size(), port);
        return port;
    }

    void open() {
        context_.reset(redisConnectNonBlock(host_.c_str(), port_));
        if (!context_) throw error("batch::redis: out of memory");
        if (context_->err) throw error(std::string("batch::redis: ") + context_->errstr);
        // Wait for the connection to be made, then for its outcome.
        pollfd p{context_->fd, POLLOUT, 0};
        int const ready = ::poll(&p, 1, 5000);
        int so_error = 0;
        socklen_t len = sizeof so_error;
        if (ready <= 0 || ::getsockopt(context_->fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
            std::string const why = ready <= 0 ? "timed out" : std::strerror(so_error ? so_error : errno);
            throw error("batch::redis: cannot connect to " + host_ + ":" + std::to_string(port_) + ": " + why);
        }
        broken_ = false;
        writing_ = false;
    }

    void write() {
        int done = 0;
        if (redisBufferWrite(context_.get(), &done) != REDIS_OK) {
            lost(std::string("batch::redis: ") + context_->errstr);
            return;
        }
        writing_ = done == 0;
    }

    void finish(segment&& s) {
        if (auto it = std::find(abandoned_.begin(), abandoned_.end(), s.number); it != abandoned_.end()) {
            abandoned_.erase(it);
            return;
        }
        answers_[s.number] = {std::move(s.replies), {}};
    }

    void lost(std::string const& why) {
        broken_ = true;
        lost_ = why;
        fail_all(why);
    }

    void fail_all(std::string const& why) {
        for (auto& s : segments_) {
            if (std::find(abandoned_.begin(), abandoned_.end(), s.number) == abandoned_.end()) {
                answers_[s.number] = {{}, why};
            }
        }
        segments_.clear();
        abandoned_.clear();
    }

    std::string host_;
    int port_;
    std::unique_ptr<redisContext, detail::context_deleter> context_;
    bool broken_ = false;
    bool writing_ = false;
    std::string lost_ = "batch::redis: the connection was lost";
    std::deque<segment> segments_;
    std::map<std::uint64_t, answer> answers_;
    std::vector<std::uint64_t> abandoned_;
    std::uint64_t next_ = 0;
};

/// A pending batch of Redis commands on a connection; `answer` turns its replies into results.
template <class Batcher, class Op>
class pending_commands {
public:
    pending_commands(Batcher const* b, connection* c, std::span<Op const> ops, std::optional<std::uint64_t> n)
        : batcher_(b), connection_(c), ops_(ops), number_(n) {}

    [[nodiscard]] io_interest interest() const { return connection_->interest(); }
    void advance(short revents) { connection_->pump(revents); }
    [[nodiscard]] bool done() const { return !number_ || connection_->answered(*number_); }
    auto results() {
        std::vector<detail::reply_ptr> replies;
        if (number_) replies = connection_->take(*number_);
        return batcher_->answer(ops_, replies);
    }
    void cancel() {
        if (number_) connection_->abandon(*number_);
    }

private:
    Batcher const* batcher_;
    connection* connection_;
    std::span<Op const> ops_;
    std::optional<std::uint64_t> number_;
};

namespace detail {

/// The result for a reply that holds nothing: `std::nullopt`, or a `not_found` failure.
template <class R>
outcome<R> missing(std::string const& key) {
    if constexpr (!batch::detail::is_optional_v<R>) {
        return std::make_exception_ptr(not_found("batch::redis: nothing at key '" + key + "'"));
    } else {
        return R(std::nullopt);
    }
}

} // namespace detail

/// Takes a string value as it is.
struct as_string {
    std::string operator()(std::string_view value) const { return std::string(value); }
};

/// Gets string values: one MGET per batch. `key_of(op)` gives the key (a string or an integer),
/// `decode(value)` the result from the value (by default the string itself). An operation's
/// result is a `std::optional` (empty for a key that holds nothing, or not a string), or a plain
/// value (such a key then fails with `batch::redis::not_found`).
template <class Op, class KeyOf, class Decode = as_string>
class get_batcher {
    using result_t = result_of_t<Op>;

public:
    get_batcher(connection& c, KeyOf key_of, Decode decode = {})
        : connection_(&c), key_of_(std::move(key_of)), decode_(std::move(decode)) {}

    /// The store, as observers and traces show it.
    [[nodiscard]] static constexpr std::string_view name() noexcept { return "redis"; }

    using pending = pending_commands<get_batcher, Op>;

    pending submit(std::span<Op const> ops) const {
        if (ops.empty()) return pending(this, connection_, ops, std::nullopt);
        std::vector<std::vector<std::string>> command(1);
        command[0].reserve(ops.size() + 1);
        command[0].push_back("MGET");
        for (auto const& op : ops) command[0].push_back(detail::key_text(std::invoke(key_of_, op)));
        return pending(this, connection_, ops, connection_->send(command));
    }

    std::vector<outcome<result_t>> answer(std::span<Op const> ops,
                                          std::vector<detail::reply_ptr> const& replies) const {
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
                out.push_back(detail::missing<result_t>(detail::key_text(std::invoke(key_of_, ops[i]))));
                continue;
            }
            try {
                out.emplace_back(result_t(std::invoke(decode_, r.text())));
            } catch (...) {
                out.emplace_back(std::current_exception());
            }
        }
        return out;
    }

private:
    connection* connection_;
    KeyOf key_of_;
    Decode decode_;
};

/// An MGET batcher for `Op` (see `get_batcher`).
template <class Op, class KeyOf, class Decode = as_string>
[[nodiscard]] get_batcher<Op, KeyOf, Decode> get(connection& c, KeyOf key_of, Decode decode = {}) {
    return {c, std::move(key_of), std::move(decode)};
}

/// One command per operation, all of a batch pipelined: `command(op)` gives the command's
/// arguments (`{"HGETALL", key}`), `decode(reply)` the operation's result from its reply. An
/// error reply fails only its operation, with Redis's message.
template <class Op, class Command, class Decode>
class command_batcher {
    using result_t = result_of_t<Op>;

public:
    command_batcher(connection& c, Command command, Decode decode)
        : connection_(&c), command_(std::move(command)), decode_(std::move(decode)) {}

    /// The store, as observers and traces show it.
    [[nodiscard]] static constexpr std::string_view name() noexcept { return "redis"; }

    using pending = pending_commands<command_batcher, Op>;

    pending submit(std::span<Op const> ops) const {
        if (ops.empty()) return pending(this, connection_, ops, std::nullopt);
        std::vector<std::vector<std::string>> commands;
        commands.reserve(ops.size());
        for (auto const& op : ops) commands.push_back(std::invoke(command_, op));
        return pending(this, connection_, ops, connection_->send(commands));
    }

    std::vector<outcome<result_t>> answer(std::span<Op const> ops,
                                          std::vector<detail::reply_ptr> const& replies) const {
        std::vector<outcome<result_t>> out;
        out.reserve(ops.size());
        for (std::size_t i = 0; i < ops.size(); ++i) {
            reply const r(replies.at(i).get());
            try {
                if (r.is_error()) throw error("batch::redis: " + std::string(r.text()));
                out.emplace_back(result_t(std::invoke(decode_, r, ops[i])));
            } catch (...) {
                out.emplace_back(std::current_exception());
            }
        }
        return out;
    }

private:
    connection* connection_;
    Command command_;
    Decode decode_;
};

/// Gets whole hashes: one HGETALL per operation, pipelined. An operation's result is a map from
/// field to value (`std::map<std::string, std::string>` or `std::unordered_map`), or a
/// `std::optional` of one (empty for a key that holds nothing; without the optional such a key
/// fails with `batch::redis::not_found`).
template <class Op, class KeyOf>
[[nodiscard]] auto hgetall(connection& c, KeyOf key_of) {
    using result_t = result_of_t<Op>;
    using map_t = typename batch::detail::unwrap_optional<result_t>::type;
    auto command = [key_of](Op const& op) {
        return std::vector<std::string>{"HGETALL", detail::key_text(std::invoke(key_of, op))};
    };
    // [=]: key_of is captured only where a missing key is an error.
    auto decode = [=](reply const& r, Op const& op) -> result_t {
        if (r.size() == 0) {
            if constexpr (std::is_same_v<map_t, result_t>) {
                throw not_found("batch::redis: nothing at key '" + detail::key_text(std::invoke(key_of, op)) + "'");
            } else {
                return std::nullopt;
            }
        }
        map_t fields;
        for (std::size_t i = 0; i + 1 < r.size(); i += 2) fields.emplace(r[i].text(), r[i + 1].text());
        return fields;
    };
    return command_batcher<Op, decltype(command), decltype(decode)>(c, std::move(command), std::move(decode));
}

} // namespace batch::redis
