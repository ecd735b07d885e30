#pragma once

// Several connections to one store, for the store batchers: each batch goes on the connection
// with the fewest batches in flight, so a store's batches run side by side on the server.

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <utility>
#include <variant>
#include <vector>

namespace batch::stores {

/// `size` connections to one store, each made with the same arguments (a connection string or
/// address, and optionally a `reconnection` policy). A batcher built from a pool sends each
/// batch on the connection with the fewest batches in flight that is up (a lost one comes back
/// as its `reconnection` says, when it is picked while none is up). Batchers of several
/// executors, or one `batch::asio::loop`, may share it. A handle, as the connections are:
/// copies share the connections, and each batcher built from the pool holds a copy.
template <class Connection>
class pool {
public:
    template <class... Args>
    explicit pool(std::size_t size, Args const&... args) : s_(std::make_shared<state>()) {
        if (size == 0) throw std::invalid_argument("batch::stores::pool: a pool needs at least one connection");
        s_->connections.reserve(size);
        for (std::size_t i = 0; i < size; ++i) s_->connections.emplace_back(args...);
    }
    pool(pool const&) = default; // a move copies: a handle is never empty
    pool& operator=(pool const&) = default;

    [[nodiscard]] std::size_t size() const noexcept { return s_->connections.size(); }
    [[nodiscard]] Connection& operator[](std::size_t i) const noexcept { return s_->connections[i]; }

    /// The connection the next batch goes on.
    [[nodiscard]] Connection& pick() const noexcept {
        Connection* best = nullptr;
        for (auto& c : s_->connections) {
            if (!c.connected()) continue;
            if (!best || c.batches_in_flight() < best->batches_in_flight()) best = &c;
        }
        if (best) return *best;
        // None is up: the least recently tried one tries to come back.
        return s_->connections[s_->next_down++ % s_->connections.size()];
    }

private:
    struct state {
        std::vector<Connection> connections;
        std::size_t next_down = 0;
    };
    std::shared_ptr<state> s_;
};

namespace detail {

/// Where a store batcher sends its batches: one connection, or a pool of them. Made implicitly
/// from either; it holds a copy of the handle, so the connections live as long as the batcher.
template <class Connection>
class connection_source {
public:
    connection_source(Connection const& c) : to_(c) {}
    connection_source(pool<Connection> const& p) : to_(p) {}

    [[nodiscard]] Connection& pick() const noexcept {
        if (auto* one = std::get_if<Connection>(&to_)) return *one;
        return std::get<pool<Connection>>(to_).pick();
    }

private:
    mutable std::variant<Connection, pool<Connection>> to_;
};

} // namespace detail
} // namespace batch::stores
