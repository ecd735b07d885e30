#pragma once

// When a store connection that was lost is opened again (both stores' connections take one).

#include <chrono>

namespace batch::stores {

/// How a lost connection comes back. With `automatic` (the default), the first batch sent after
/// the loss opens the connection again; if that fails (the server is still down), that batch
/// fails with the store's `connection_lost` naming why, and so does every batch until the next
/// attempt, which comes `first_delay` later, then twice as late after each failure, up to
/// `longest_delay`. Without it, every batch fails until the program calls `reconnect()`.
/// Opening a connection blocks the thread (a refused connection returns at once).
struct reconnection {
    bool automatic = true;
    std::chrono::milliseconds first_delay{20};
    std::chrono::milliseconds longest_delay{1000};
};

} // namespace batch::stores
