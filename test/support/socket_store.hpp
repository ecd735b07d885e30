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
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
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
        std::uint64_t id = 0; ///< Tells a connection from a later one on the same descriptor.
        std::string in;
        std::string out;
    };

    /// An answer, and when it may be sent.
    struct due_answer {
        std::chrono::steady_clock::time_point when;
        int fd;
        std::uint64_t connection;
        std::string answer;
    };

    static std::string answer_to(std::string const& request) {
        std::istringstream keys(request);
        std::string out;
        for (std::int64_t k; keys >> k;) {
            if (!out.empty()) out += ' ';
            out += std::to_string(2 * k);
        }
        return out + "\n";
    }

    // One epoll loop: accepts connections, reads requests, and writes each answer once it is
    // due (and, with a barrier, once the barrier is open). Answers fall due in the order their
    // requests came, so one queue holds them all.
    void serve() {
        using clock = std::chrono::steady_clock;
        auto const barrier_deadline = clock::now() + std::chrono::seconds(10);
        int const ep = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0) return;
        auto watch = [ep](int fd, std::uint32_t events, int op) {
            epoll_event e{};
            e.events = events;
            e.data.fd = fd;
            ::epoll_ctl(ep, op, fd, &e);
        };
        watch(listener_, EPOLLIN, EPOLL_CTL_ADD);
        watch(wake_[0], EPOLLIN, EPOLL_CTL_ADD);
        std::vector<epoll_event> events(256);
        while (!stop_) {
            bool barrier_open = barrier_ == 0 || requests_ >= barrier_;
            if (!barrier_open && clock::now() > barrier_deadline) {
                barrier_timed_out_ = true;
                barrier_ = 0;
                barrier_open = true;
            }
            int timeout = barrier_open ? -1 : 50;
            if (barrier_open && !due_.empty()) {
                auto const left = std::chrono::ceil<std::chrono::milliseconds>(due_.front().when - clock::now());
                timeout = left.count() < 0 ? 0 : static_cast<int>(left.count());
            }
            int const n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout);
            if (n < 0 && errno != EINTR) break;
            for (int i = 0; i < n; ++i) {
                int const fd = events[static_cast<std::size_t>(i)].data.fd;
                if (fd == listener_) {
                    for (int c; (c = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
                        // Answers go out as they are due: without this, Nagle's algorithm holds an
                        // answer back until the client acknowledges the one before (up to the
                        // client's delayed-ACK time, 40 ms on Linux) when two are in flight.
                        int const one = 1;
                        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                        connections_[c].id = ++accepted_;
                        watch(c, EPOLLIN, EPOLL_CTL_ADD);
                    }
                    continue;
                }
                auto it = connections_.find(fd);
                if (it == connections_.end()) continue;
                bool const had_output = !it->second.out.empty();
                if (!handle(fd, it->second, static_cast<short>(events[static_cast<std::size_t>(i)].events))) {
                    ::close(fd); // also leaves the epoll set
                    connections_.erase(it);
                } else if (had_output && it->second.out.empty()) {
                    watch(fd, EPOLLIN, EPOLL_CTL_MOD);
                }
            }
            if (barrier_ == 0 || requests_ >= barrier_) {
                for (auto const now = clock::now(); !due_.empty() && due_.front().when <= now; due_.pop_front()) {
                    auto it = connections_.find(due_.front().fd);
                    if (it == connections_.end() || it->second.id != due_.front().connection) continue;
                    bool const idle = it->second.out.empty();
                    it->second.out += std::move(due_.front().answer);
                    if (!handle(it->first, it->second, 0)) {
                        ::close(it->first);
                        connections_.erase(it);
                    } else if (idle && !it->second.out.empty()) {
                        watch(it->first, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
                    }
                }
            }
        }
        ::close(ep);
    }

    // Reads requests and writes answers; false when the connection is closed.
    bool handle(int fd, connection& conn, short revents) {
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
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
                due_.push_back(
                    {std::chrono::steady_clock::now() + delay_, fd, conn.id, answer_to(conn.in.substr(0, end))});
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
    std::deque<due_answer> due_;            // likewise
    std::uint64_t accepted_ = 0;            // likewise
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
        for (auto const& op : ops) {
            if (!request.empty()) request += ' ';
            request += std::to_string(op.key);
        }
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
