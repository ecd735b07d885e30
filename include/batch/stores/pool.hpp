#pragma once

// Several connections to one store, for the store batchers: each batch goes on the connection
// with the fewest batches in flight, so a store's batches run side by side on the server.

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

namespace batch::stores {

/// `size` connections to one store, each made with the same arguments (a connection string or
/// address, and optionally a `reconnection` policy). A batcher built from a pool sends each
/// batch on the connection with the fewest batches in flight that is up (a lost one comes back
/// as its `reconnection` says, when it is picked while none is up). It must outlive the
/// batchers; batchers of several executors, or one `batch::asio::loop`, may share it.
template <class Connection>
class pool {
public:
    template <class... Args>
    explicit pool(std::size_t size, Args const&... args) {
        if (size == 0) throw std::invalid_argument("batch::stores::pool: a pool needs at least one connection");
        connections_.reserve(size);
        for (std::size_t i = 0; i < size; ++i) connections_.push_back(std::make_unique<Connection>(args...));
    }

    pool(pool const&) = delete;
    pool& operator=(pool const&) = delete;

    [[nodiscard]] std::size_t size() const noexcept { return connections_.size(); }
    [[nodiscard]] Connection& operator[](std::size_t i) noexcept { return *connections_[i]; }

    /// The connection the next batch goes on.
    [[nodiscard]] Connection& pick() noexcept {
        Connection* best = nullptr;
        for (auto const& c : connections_) {
            if (!c->connected()) continue;
            if (!best || c->batches_in_flight() < best->batches_in_flight()) best = c.get();
        }
        if (best) return *best;
        // None is up: the least recently tried one tries to come back.
        Connection& c = *connections_[next_down_++ % connections_.size()];
        return c;
    }

private:
    std::vector<std::unique_ptr<Connection>> connections_;
    std::size_t next_down_ = 0;
};

namespace detail {

/// Where a store batcher sends its batches: one connection, or a pool of them. Made implicitly
/// from either (by reference: a batcher cannot be built from a temporary connection).
template <class Connection>
class connection_source {
public:
    connection_source(Connection& c) noexcept : one_(&c) {}
    connection_source(pool<Connection>& p) noexcept : many_(&p) {}

    [[nodiscard]] Connection& pick() const noexcept { return one_ ? *one_ : many_->pick(); }

private:
    Connection* one_ = nullptr;
    pool<Connection>* many_ = nullptr;
};

} // namespace detail
} // namespace batch::stores
