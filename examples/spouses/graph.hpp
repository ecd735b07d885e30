#pragma once

// The demo's social graph: `n` users with generated names, married in pairs at random (one may
// be single), the same for every store.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace demo {

struct graph {
    std::vector<std::string> names;                  ///< Index: user id (0 is unused).
    std::vector<std::optional<std::int64_t>> spouse; ///< Likewise.

    explicit graph(std::int64_t n) : names(static_cast<std::size_t>(n) + 1), spouse(static_cast<std::size_t>(n) + 1) {
        static constexpr char const* first[] = {"Ada",   "Alan", "Barbara", "Dennis", "Edsger",   "Frances",
                                                "Grace", "John", "Ken",     "Leslie", "Margaret", "Niklaus"};
        static constexpr char const* last[] = {"Allen",   "Backus", "Dijkstra", "Hamilton", "Hopper", "Knuth",
                                               "Lamport", "Liskov", "Lovelace", "Ritchie",  "Turing", "Wirth"};
        for (std::int64_t id = 1; id <= n; ++id) {
            names[static_cast<std::size_t>(id)] =
                std::string(first[id % 12]) + " " + last[(id / 12) % 12] + " #" + std::to_string(id);
        }
        std::vector<std::int64_t> order(static_cast<std::size_t>(n));
        std::iota(order.begin(), order.end(), 1);
        std::shuffle(order.begin(), order.end(), std::mt19937_64(20261126));
        for (std::size_t i = 0; i + 1 < order.size(); i += 2) {
            spouse[static_cast<std::size_t>(order[i])] = order[i + 1];
            spouse[static_cast<std::size_t>(order[i + 1])] = order[i];
        }
    }

    [[nodiscard]] std::int64_t size() const noexcept { return static_cast<std::int64_t>(names.size()) - 1; }
};

} // namespace demo
