#pragma once

// A Redis connection for the batchers of batchers.hpp (hiredis, target batch::redis), and the
// errors of the store.

#include <batch/async_batcher.hpp>
#include <batch/detail/base/type_name.hpp>
#include <batch/error.hpp>
#include <batch/stores/detail/pipeline.hpp>
#include <batch/stores/pool.hpp>
#include <batch/stores/reconnection.hpp>

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
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

/// The connection to Redis was lost (or reopened) while the batch was in flight, or is down:
/// unlike a failed command, the same batch may succeed once the connection is back.
class connection_lost : public error {
public:
    using error::error;
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
                  "batch: redis: a key must be a string or an integer");
    return batch::detail::key_text(k);
}

} // namespace detail

/// How a lost connection comes back (see `batch::stores::reconnection`).
using reconnection = stores::reconnection;

namespace detail {

inline std::string host_of(std::string_view address) { return std::string(address.substr(0, address.rfind(':'))); }

inline int port_of(std::string_view address) {
    auto const digits = address.substr(address.rfind(':') + 1);
    int port = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), port);
    return port;
}

/// The connection behind the `connection` handles (see there), owned by them and by the
/// batchers built from them.
class session {
public:
    session(std::string host, int port, reconnection policy = {})
        : host_(std::move(host)), port_(port), policy_(policy), batches_("batch::redis") {
        open();
    }

    void reconnect() {
        fail_all("batch::redis: the connection was reopened while this batch was in flight");
        open();
    }

    [[nodiscard]] bool connected() const noexcept { return !batches_.broken(); }

    [[nodiscard]] std::size_t batches_in_flight() const noexcept { return batches_.count_in_flight(); }

    std::uint64_t send(std::vector<std::vector<std::string>> const& commands) {
        if (!batches_.broken() && !batches_.in_flight()) probe();
        batches_.revive(policy_, [this] { open(); });
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
        std::uint64_t const number = batches_.sent({0, commands.size(), {}});
        write();
        return number;
    }

    /// What the connection waits for: readable, and writable while commands are half written.
    [[nodiscard]] io_interest interest() const noexcept {
        return {context_->fd, static_cast<short>(POLLIN | (writing_ ? POLLOUT : 0)), batches_.connection_id()};
    }

    /// Writes what is left, reads what has come, and files the replies.
    void pump(short revents) {
        if (batches_.broken()) return;
        if (revents & POLLOUT) write();
        if (batches_.broken()) return;
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
            reply_ptr r(static_cast<redisReply*>(raw));
            if (!batches_.in_flight()) continue; // a reply to nothing of ours
            segment& s = batches_.oldest();
            s.replies.push_back(std::move(r));
            if (s.replies.size() == s.expected) batches_.complete_oldest(std::move(s.replies));
        }
    }

    [[nodiscard]] bool answered(std::uint64_t n) const { return batches_.answered(n); }

    std::vector<reply_ptr> take(std::uint64_t n) { return batches_.take(n); }

    void abandon(std::uint64_t n) { batches_.abandon(n); }

private:
    struct segment {
        std::uint64_t number;
        std::size_t expected;
        std::vector<reply_ptr> replies;
    };

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
        batches_.reopened(context_->fd);
        writing_ = false;
    }

    // An idle connection has nothing to read: if it is readable, the server has closed it (it
    // was restarted, say). Found now, the batch about to be sent goes on a new connection
    // instead of failing with it.
    void probe() {
        char c;
        ssize_t const n = ::recv(context_->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            lost("batch::redis: the server closed the connection");
        }
    }

    void write() {
        int done = 0;
        if (redisBufferWrite(context_.get(), &done) != REDIS_OK) {
            lost(std::string("batch::redis: ") + context_->errstr);
            return;
        }
        writing_ = done == 0;
    }

    void lost(std::string const& why) { batches_.lost(why); }
    void fail_all(std::string const& why) { batches_.fail_all(why); }

    std::string host_;
    int port_;
    reconnection policy_;
    std::unique_ptr<redisContext, context_deleter> context_;
    bool writing_ = false;
    stores::detail::pipeline<segment, std::vector<reply_ptr>, error, connection_lost> batches_;
};

} // namespace detail

/// A connection to Redis, non-blocking: the commands of a round's batches are written one after
/// another without waiting, and their replies, which come back in order, are filed by batch.
/// A lost connection fails the batches in flight (`batch::redis::connection_lost`); the next
/// batch opens it again, as `policy` says (by default at once, then with a growing delay while
/// the server stays down).
///
/// A handle, as a `std::shared_ptr` is: copies share one connection, and each batcher built
/// from it holds a copy, so the connection lives as long as the last of them (a batcher cannot
/// outlive its connection, whatever the order of destruction).
class connection {
public:
    /// Connects (waiting at most five seconds); throws `batch::redis::error`.
    connection(std::string host, int port, reconnection policy = {})
        : s_(std::make_shared<detail::session>(std::move(host), port, policy)) {}
    /// Connects to "host:port".
    explicit connection(std::string_view address, reconnection policy = {})
        : connection(detail::host_of(address), detail::port_of(address), policy) {}
    connection(connection const&) = default; // a move copies: a handle is never empty
    connection& operator=(connection const&) = default;

    /// Connects again, for instance after the server was restarted; the batches in flight fail.
    void reconnect() const { s_->reconnect(); }

    [[nodiscard]] bool connected() const noexcept { return s_->connected(); }

    /// Batches sent and not answered yet.
    [[nodiscard]] std::size_t batches_in_flight() const noexcept { return s_->batches_in_flight(); }

    /// Queues `commands` (each an argument list) as one batch; returns the number under which its
    /// replies will be filed.
    std::uint64_t send(std::vector<std::vector<std::string>> const& commands) const { return s_->send(commands); }

    /// What the connection waits for (see `batch::async_batcher`).
    [[nodiscard]] io_interest interest() const noexcept { return s_->interest(); }

    /// Writes what is left, reads what has come, and files the replies.
    void pump(short revents) const { s_->pump(revents); }

    /// True once the replies numbered `n` are filed (or their batch failed).
    [[nodiscard]] bool answered(std::uint64_t n) const { return s_->answered(n); }

    /// The replies numbered `n`, in command order; throws `batch::redis::connection_lost` if the
    /// connection was lost (or reopened) first.
    std::vector<detail::reply_ptr> take(std::uint64_t n) const { return s_->take(n); }

    /// The replies numbered `n` will be dropped when they come.
    void abandon(std::uint64_t n) const { s_->abandon(n); }

private:
    std::shared_ptr<detail::session> s_;
};

/// Several connections to one server (see `batch::stores::pool`): `pool db(4, conninfo);`; the
/// batchers take one wherever they take a connection.
using pool = stores::pool<connection>;

} // namespace batch::redis
