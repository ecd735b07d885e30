#pragma once

// A store served over local TCP by a thread of its own, and an asynchronous batcher that talks
// to it: the real descriptors the asynchronous-batcher tests wait on.
//
// The protocol is a line per batch: the request "k1 k2 k3\n" is answered with "v1 v2 v3\n",
// where v = 2k, after the store's delay. A store made with a barrier of n answers nothing
// until n requests have arrived (over any of its connections): a round whose batches were
// submitted one after another, each waited for before the next, would never get its answers.

#include <batch/batch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace test {

[[noreturn]] inline void throw_errno(char const* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

/// Raises the soft limit on open descriptors to the hard limit (tests with many connections).
inline void allow_many_descriptors() {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &r);
    }
}

/// A store on 127.0.0.1 (a free port), served by its own thread until it is destroyed.
class socket_store {
public:
    explicit socket_store(std::chrono::milliseconds delay, std::size_t barrier = 0) : delay_(delay), barrier_(barrier) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (listener_ < 0) throw_errno("socket");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 4096) != 0
            || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            ::close(listener_);
            throw_errno("bind/listen");
        }
        port_ = ntohs(addr.sin_port);
        if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw_errno("pipe2");
        thread_ = std::thread([this] { serve(); });
    }

    socket_store(socket_store const&) = delete;
    socket_store& operator=(socket_store const&) = delete;

    ~socket_store() {
        stop_ = true;
        char const c = 0;
        [[maybe_unused]] auto const n = ::write(wake_[1], &c, 1);
        thread_.join();
        for (auto& [fd, conn] : connections_) ::close(fd);
        ::close(listener_);
        ::close(wake_[0]);
        ::close(wake_[1]);
    }

    /// A new connection to the store (non-blocking); the caller closes it.
    [[nodiscard]] int connect() const {
        int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw_errno("socket");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port_);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd);
            throw_errno("connect");
        }
        int const one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        return fd;
    }

    /// Requests received so far.
    [[nodiscard]] std::size_t requests() const noexcept { return requests_.load(); }

    /// True if the barrier gave up waiting (after 10 s): a sign that batches did not overlap.
    [[nodiscard]] bool barrier_timed_out() const noexcept { return barrier_timed_out_.load(); }

private:
    struct connection {
        std::string in;
        std::string out;
        std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> due; ///< answers, when due
    };

    static std::string answer_to(std::string const& request) {
        std::istringstream keys(request);
        std::string out;
        for (std::int64_t k; keys >> k;) out += (out.empty() ? "" : " ") + std::to_string(2 * k);
        return out + "\n";
    }

    void serve() {
        using clock = std::chrono::steady_clock;
        auto const barrier_deadline = clock::now() + std::chrono::seconds(10);
        std::vector<pollfd> fds;
        while (!stop_) {
            bool const barrier_open = barrier_ == 0 || requests_ >= barrier_;
            if (!barrier_open && clock::now() > barrier_deadline) {
                barrier_timed_out_ = true;
                barrier_ = 0;
            }
            fds.clear();
            fds.push_back({listener_, POLLIN, 0});
            fds.push_back({wake_[0], POLLIN, 0});
            int timeout = barrier_open ? -1 : 50;
            for (auto& [fd, conn] : connections_) {
                short events = POLLIN;
                if (!conn.out.empty()) events |= POLLOUT;
                fds.push_back({fd, events, 0});
                if (barrier_open && !conn.due.empty()) {
                    auto const left =
                        std::chrono::ceil<std::chrono::milliseconds>(conn.due.front().first - clock::now());
                    int const ms = left.count() < 0 ? 0 : static_cast<int>(left.count());
                    timeout = timeout < 0 ? ms : std::min(timeout, ms);
                }
            }
            if (::poll(fds.data(), static_cast<nfds_t>(fds.size()), timeout) < 0 && errno != EINTR) return;
            if (fds[0].revents & POLLIN) {
                for (int fd; (fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
                    connections_[fd];
                }
            }
            for (std::size_t i = 2; i < fds.size(); ++i) {
                auto it = connections_.find(fds[i].fd);
                if (it == connections_.end()) continue;
                if (!handle(it->first, it->second, fds[i].revents)) {
                    ::close(it->first);
                    connections_.erase(it);
                }
            }
            if (barrier_ == 0 || requests_ >= barrier_) {
                for (auto& [fd, conn] : connections_) {
                    while (!conn.due.empty() && conn.due.front().first <= clock::now()) {
                        conn.out += conn.due.front().second;
                        conn.due.erase(conn.due.begin());
                    }
                }
            }
        }
    }

    // Reads requests and writes answers; false when the connection is closed.
    bool handle(int fd, connection& conn, short revents) {
        if (revents & (POLLIN | POLLHUP | POLLERR)) {
            char buffer[4096];
            for (;;) {
                ssize_t const n = ::read(fd, buffer, sizeof buffer);
                if (n > 0) {
                    conn.in.append(buffer, static_cast<std::size_t>(n));
                    continue;
                }
                if (n == 0) return false;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                return false;
            }
            for (std::size_t end; (end = conn.in.find('\n')) != std::string::npos;) {
                conn.due.emplace_back(std::chrono::steady_clock::now() + delay_, answer_to(conn.in.substr(0, end)));
                conn.in.erase(0, end + 1);
                ++requests_;
            }
        }
        while (!conn.out.empty()) {
            ssize_t const n = ::send(fd, conn.out.data(), conn.out.size(), MSG_NOSIGNAL);
            if (n > 0) {
                conn.out.erase(0, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            return false;
        }
        return true;
    }

    std::chrono::milliseconds delay_;
    std::atomic<std::size_t> barrier_;
    std::atomic<std::size_t> requests_{0};
    std::atomic<bool> barrier_timed_out_{false};
    std::atomic<bool> stop_{false};
    int listener_ = -1;
    int wake_[2] = {-1, -1};
    std::uint16_t port_ = 0;
    std::map<int, connection> connections_; // touched by the serving thread only
    std::thread thread_;
};

/// What happened, in order, to the batches of a test: "submit <name>", "done <name>".
struct event_log {
    std::mutex m;
    std::vector<std::string> events;
    void add(std::string e) {
        std::lock_guard const lock(m);
        events.push_back(std::move(e));
    }
};

/// The client side of one connection to a socket_store: requests go out in order and answers
/// come back in order, so several batches can be in flight on it at once (pipelined).
class store_connection {
public:
    explicit store_connection(socket_store const& store) : fd_(store.connect()) {}
    store_connection(store_connection const&) = delete;
    store_connection& operator=(store_connection const&) = delete;
    ~store_connection() { ::close(fd_); }

    /// Queues a request line; returns its number.
    std::uint64_t send(std::string const& line) {
        out_ += line + "\n";
        return sent_++;
    }

    /// What the connection waits for: to write while requests are queued, else to read.
    [[nodiscard]] batch::io_interest interest() const {
        return {fd_, static_cast<short>(out_.empty() ? POLLIN : POLLIN | POLLOUT)};
    }

    /// Writes what can be written, reads what has come, and files the complete answers.
    void pump(short revents) {
        if (revents & POLLERR) throw std::runtime_error("store connection failed");
        while (!out_.empty()) {
            ssize_t const n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (n < 0) throw_errno("send");
            out_.erase(0, static_cast<std::size_t>(n));
        }
        char buffer[4096];
        for (;;) {
            ssize_t const n = ::read(fd_, buffer, sizeof buffer);
            if (n > 0) {
                in_.append(buffer, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0) throw std::runtime_error("store closed the connection");
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            throw_errno("read");
        }
        for (std::size_t end; (end = in_.find('\n')) != std::string::npos; ++received_) {
            if (!abandoned_.erase(received_)) answers_[received_] = in_.substr(0, end);
            in_.erase(0, end + 1);
        }
    }

    [[nodiscard]] bool answered(std::uint64_t n) const { return answers_.count(n) != 0; }

    std::string take(std::uint64_t n) {
        auto node = answers_.extract(n);
        return std::move(node.mapped());
    }

    /// The answer to request `n` will be dropped when it comes.
    void abandon(std::uint64_t n) {
        if (answers_.erase(n) == 0) abandoned_.insert(n);
    }

private:
    int fd_;
    std::string out_;
    std::string in_;
    std::uint64_t sent_ = 0;
    std::uint64_t received_ = 0;
    std::map<std::uint64_t, std::string> answers_;
    std::set<std::uint64_t> abandoned_;
};

/// An asynchronous batcher for operations with an int `key`, over its own connection to a
/// socket_store: a request line per batch, written and read without blocking.
template <class Op>
class store_batcher {
public:
    /// One batch: its request on the connection, until its answer is filed.
    class pending {
    public:
        pending(store_connection* c, std::uint64_t n, std::size_t count, std::string name, event_log* log)
            : connection_(c), number_(n), count_(count), name_(std::move(name)), log_(log) {}

        [[nodiscard]] batch::io_interest interest() const { return connection_->interest(); }

        void advance(short revents) {
            connection_->pump(revents);
            if (done() && log_) log_->add("done " + name_);
        }

        [[nodiscard]] bool done() const { return connection_->answered(number_); }

        std::vector<int> results() {
            std::istringstream values(connection_->take(number_));
            std::vector<int> out;
            for (int v; values >> v;) out.push_back(v);
            if (out.size() != count_)
                throw std::runtime_error("store answered " + std::to_string(out.size()) + " values");
            return out;
        }

        void cancel() {
            connection_->abandon(number_);
            if (log_) log_->add("cancel " + name_);
        }

    private:
        store_connection* connection_;
        std::uint64_t number_;
        std::size_t count_;
        std::string name_;
        event_log* log_;
    };

    store_batcher(socket_store const& store, std::string name, event_log* log = nullptr,
                  std::chrono::milliseconds timeout = {})
        : connection_(std::make_unique<store_connection>(store)), name_(std::move(name)), log_(log), timeout_(timeout) {
    }

    pending submit(std::span<Op const> ops) const {
        std::string request;
        for (auto const& op : ops) request += (request.empty() ? "" : " ") + std::to_string(op.key);
        if (log_) log_->add("submit " + name_);
        return pending(connection_.get(), connection_->send(request), ops.size(), name_, log_);
    }

    [[nodiscard]] std::chrono::milliseconds timeout() const { return timeout_; }

private:
    std::unique_ptr<store_connection> connection_;
    std::string name_;
    event_log* log_;
    std::chrono::milliseconds timeout_;
};

} // namespace test
