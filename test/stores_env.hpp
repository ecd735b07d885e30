#pragma once

// Where the real servers of the store tests listen: scripts/stores writes it to DIR/env, the
// CTest fixture passes DIR/env in BATCH_STORES (and the script itself in BATCH_STORES_SCRIPT,
// for the tests that stop and restart a server).

#include "socket_store.hpp"

#include <batch/batch.hpp>

#include <cstdlib>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

namespace test {

struct stores_env {
    std::string dir;
    std::string postgres; ///< A libpq connection string.
    std::string redis;    ///< host:port

    /// Reads the file named by the variable `name` (BATCH_STORES by default).
    static stores_env read(char const* name = "BATCH_STORES") {
        char const* path = std::getenv(name);
        if (!path) throw std::runtime_error(std::string(name) + " is not set: run the store tests through ctest");
        stores_env e;
        e.dir = std::string(path).substr(0, std::string(path).rfind('/'));
        std::ifstream in(path);
        for (std::string line; std::getline(in, line);) {
            auto const eq = line.find('=');
            if (eq == std::string::npos) continue;
            std::string value = line.substr(eq + 1);
            if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
            if (line.compare(0, eq, "BATCH_POSTGRES") == 0) e.postgres = value;
            if (line.compare(0, eq, "BATCH_REDIS") == 0) e.redis = value;
        }
        return e;
    }

    /// Runs `scripts/stores <command> <server> <dir>` (pause or resume a server of this folder).
    void control(std::string const& command, std::string const& server) const {
        char const* script = std::getenv("BATCH_STORES_SCRIPT");
        if (!script) throw std::runtime_error("BATCH_STORES_SCRIPT is not set");
        std::string const line = std::string(script) + " " + command + " " + server + " " + dir;
        if (std::system(line.c_str()) != 0) throw std::runtime_error("failed: " + line);
    }
};

/// An asynchronous batcher that logs when its batches are submitted and when they are done.
template <class Batcher>
class logged {
public:
    logged(Batcher b, std::string name, event_log& log) : batcher_(std::move(b)), name_(std::move(name)), log_(&log) {}

    template <class Pending>
    class pending {
    public:
        pending(Pending p, std::string const* name, event_log* log) : p_(std::move(p)), name_(name), log_(log) {}
        [[nodiscard]] batch::io_interest interest() const { return p_.interest(); }
        void advance(short revents) {
            p_.advance(revents);
            if (p_.done()) log_->add("done " + *name_);
        }
        [[nodiscard]] bool done() const { return p_.done(); }
        auto results() { return p_.results(); }
        void cancel() { p_.cancel(); }

    private:
        Pending p_;
        std::string const* name_;
        event_log* log_;
    };

    template <class Op>
    auto submit(std::span<Op const> ops) const -> pending<decltype(std::declval<Batcher const&>().submit(ops))> {
        log_->add("submit " + name_);
        return {batcher_.submit(ops), &name_, log_};
    }

    Batcher& inner() noexcept { return batcher_; }

private:
    Batcher batcher_;
    std::string name_;
    event_log* log_;
};

} // namespace test
