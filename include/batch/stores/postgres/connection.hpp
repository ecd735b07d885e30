#pragma once

// A PostgreSQL connection for the batchers of batchers.hpp (libpq, target batch::postgres), and
// the errors of the store.

#include <batch/async_batcher.hpp>
#include <batch/error.hpp>
#include <batch/stores/detail/pipeline.hpp>
#include <batch/stores/pool.hpp>
#include <batch/stores/reconnection.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace batch::postgres {

/// A failure reported by PostgreSQL or by libpq: what() holds the server's (or libpq's) message.
class error : public batch::error {
public:
    using batch::error::error;
};

/// A lookup found no row for a key, where the operation's result is not a `std::optional`.
class not_found : public error {
public:
    using error::error;
};

/// The connection to PostgreSQL was lost (or reopened) while the batch was in flight, or is down:
/// unlike a failed command, the same batch may succeed once the connection is back.
class connection_lost : public error {
public:
    using error::error;
};

namespace detail {

struct result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

inline std::string message_of(PGconn* c) {
    std::string m = c ? PQerrorMessage(c) : "out of memory";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return "batch::postgres: " + m;
}

} // namespace detail

/// How a lost connection comes back (see `batch::stores::reconnection`).
using reconnection = stores::reconnection;

namespace detail {

/// The connection behind the `connection` handles (see there), owned by them and by the
/// batchers built from them.
class session {
public:
    explicit session(std::string conninfo, reconnection policy = {})
        : conninfo_(std::move(conninfo)), policy_(policy), batches_("batch::postgres") {
        open();
    }
    session(session const&) = delete;
    session& operator=(session const&) = delete;
    ~session() { PQfinish(native_); }

    void reconnect() {
        fail_all("batch::postgres: the connection was reopened while this batch was in flight");
        reopen();
    }

    [[nodiscard]] bool connected() const noexcept { return !batches_.broken() && PQstatus(native_) == CONNECTION_OK; }

    [[nodiscard]] std::size_t batches_in_flight() const noexcept { return batches_.count_in_flight(); }

    [[nodiscard]] PGconn* native() noexcept { return native_; }

    void on_notice(std::function<void(std::string_view)> handler) { notice_ = std::move(handler); }

    std::uint64_t send(std::string const& sql, Oid param_type, std::string const& param) {
        // An idle connection has nothing to read but what the server says on closing it (it was
        // restarted, say): found now, the batch goes on a new connection instead of failing.
        if (!batches_.broken() && !batches_.in_flight() && !PQconsumeInput(native_)) {
            lost(message_of(native_));
        }
        if (!batches_.broken() && PQstatus(native_) != CONNECTION_OK) lost(message_of(native_));
        batches_.revive(policy_, [this] { reopen(); });
        std::string& name = statements_[sql];
        bool const prepare = name.empty();
        if (prepare) {
            name = "batch_" + std::to_string(statements_.size());
            if (!PQsendPrepare(native_, name.c_str(), sql.c_str(), 1, &param_type)) return fail_send(sql);
        }
        char const* values[] = {param.data()};
        int const lengths[] = {static_cast<int>(param.size())};
        int const formats[] = {1};
        if (!PQsendQueryPrepared(native_, name.c_str(), 1, values, lengths, formats, 0) || !PQpipelineSync(native_)) {
            return fail_send(sql);
        }
        std::uint64_t const number = batches_.sent({0, prepare ? 2 : 1, prepare ? sql : std::string()});
        flush();
        return number;
    }

    /// What the connection waits for: readable, and writable while a request is half sent or
    /// while an answer that libpq read when sending is waiting to be filed (the socket is
    /// writable, so `pump` comes at once: the answer is in libpq's buffer, not in the socket).
    [[nodiscard]] io_interest interest() const noexcept {
        return {PQsocket(native_), static_cast<short>(POLLIN | (flushing_ || buffered_ ? POLLOUT : 0)),
                batches_.connection_id()};
    }

    /// Sends what is left, reads what has come, and files the answers; a lost connection fails
    /// every batch in flight.
    void pump(short revents) {
        buffered_ = false;
        if (batches_.broken()) return;
        if (revents & POLLOUT) flush();
        if (!PQconsumeInput(native_)) {
            lost(message_of(native_));
            return;
        }
        while (batches_.in_flight() && !PQisBusy(native_)) {
            result_ptr r(PQgetResult(native_));
            segment& s = batches_.oldest();
            if (!r) { // the end of one command's results
                --s.commands;
                continue;
            }
            switch (PQresultStatus(r.get())) {
            case PGRES_PIPELINE_SYNC:
                if (s.error.empty() && !s.answer) s.error = "batch::postgres: the query returned no rows set";
                batches_.complete_oldest(std::move(s.answer), std::move(s.error));
                break;
            case PGRES_TUPLES_OK:
                if (s.commands == 1) s.answer = std::move(r);
                break;
            case PGRES_COMMAND_OK: // the statement is prepared
                break;
            case PGRES_PIPELINE_ABORTED: // a command before it failed: that error is kept
                break;
            default:
                if (s.error.empty()) {
                    s.error = "batch::postgres: " + trimmed(PQresultErrorMessage(r.get()));
                    char const* severity = PQresultErrorField(r.get(), PG_DIAG_SEVERITY_NONLOCALIZED);
                    s.fatal =
                        severity && (std::string_view(severity) == "FATAL" || std::string_view(severity) == "PANIC");
                }
                if (!s.unprepare.empty() && s.commands == 2) statements_.erase(s.unprepare);
                if (PQstatus(native_) != CONNECTION_OK) {
                    lost(s.error);
                    return;
                }
                break;
            }
        }
        if (PQstatus(native_) != CONNECTION_OK) lost(message_of(native_));
    }

    [[nodiscard]] bool answered(std::uint64_t n) const { return batches_.answered(n); }

    result_ptr take(std::uint64_t n) { return batches_.take(n); }

    void abandon(std::uint64_t n) { batches_.abandon(n); }

private:
    struct segment {
        std::uint64_t number;
        int commands;          ///< Commands whose results are still to come (prepare, query).
        std::string unprepare; ///< The statement to forget if its preparation fails.
        result_ptr answer{};
        std::string error{};
        bool fatal = false; ///< The server ended the connection with this error.
    };

    static std::string trimmed(std::string m) {
        while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
        return m;
    }

    void open() {
        native_ = PQconnectdb(conninfo_.c_str());
        if (PQstatus(native_) != CONNECTION_OK || PQsetnonblocking(native_, 1) != 0 || !PQenterPipelineMode(native_)) {
            std::string const why = message_of(native_);
            PQfinish(native_);
            native_ = nullptr;
            throw error(why);
        }
        PQsetNoticeProcessor(native_, &session::notice, this);
        statements_.clear();
        batches_.reopened(PQsocket(native_));
        flushing_ = false;
        buffered_ = false;
    }

    static void notice(void* self, char const* message) noexcept {
        auto& c = *static_cast<session*>(self);
        if (!c.notice_) return;
        try {
            c.notice_(trimmed(message));
        } catch (...) { // libpq cannot carry it; a handler should not throw
        }
    }

    void reopen() {
        PQfinish(native_);
        native_ = nullptr;
        open();
    }

    // Sends what libpq holds. When the socket is full, libpq reads what the server has sent
    // meanwhile (so that neither side blocks): that input is in libpq's buffer, and no poll(2) on
    // the socket will show it; `buffered_` asks for a `pump` to file it.
    void flush() {
        int const f = PQflush(native_);
        if (f < 0) lost(message_of(native_));
        flushing_ = f == 1;
        buffered_ = f >= 0 && batches_.in_flight() && !PQisBusy(native_);
    }

    std::uint64_t fail_send(std::string const& sql) {
        statements_.erase(sql);
        std::string const why = message_of(native_);
        if (PQstatus(native_) != CONNECTION_OK) {
            lost(why);
            throw connection_lost(why);
        }
        throw error(why);
    }

    // A batch whose query failed already keeps the server's message for that failure; one that
    // the server ended with its connection (a FATAL error, such as at shutdown) counts as lost.
    static auto failure_of(segment const& s) { return decltype(batches_)::failure{s.error, s.fatal}; }
    void lost(std::string const& why) { batches_.lost(why, failure_of); }
    void fail_all(std::string const& why) { batches_.fail_all(why, failure_of); }

    std::string conninfo_;
    reconnection policy_;
    PGconn* native_ = nullptr;
    bool flushing_ = false;
    bool buffered_ = false; ///< libpq holds input that came while sending, not filed yet.
    std::function<void(std::string_view)> notice_;
    std::unordered_map<std::string, std::string> statements_; ///< SQL to its statement's name.
    stores::detail::pipeline<segment, result_ptr, error, connection_lost> batches_;
};

} // namespace detail

/// A connection to PostgreSQL in libpq's pipeline mode, non-blocking: the queries of a round's
/// batches are sent one after another without waiting, each followed by its own sync (so a
/// failing query fails only its batch), and their answers come back in order. Statements are
/// prepared once per connection. A lost connection fails the batches in flight with the
/// server's message (`batch::postgres::connection_lost`); the next batch opens it again, as
/// `policy` says (by default at once, then with a growing delay while the server stays down).
///
/// A handle, as a `std::shared_ptr` is: copies share one connection, and each batcher built
/// from it holds a copy, so the connection lives as long as the last of them (a batcher cannot
/// outlive its connection, whatever the order of destruction).
class connection {
public:
    /// Connects (blocking, once) with a libpq connection string; throws `batch::postgres::error`.
    explicit connection(std::string conninfo, reconnection policy = {})
        : s_(std::make_shared<detail::session>(std::move(conninfo), policy)) {}
    connection(connection const&) = default; // a move copies: a handle is never empty
    connection& operator=(connection const&) = default;

    /// Connects again, for instance after the server was restarted: the batches in flight fail,
    /// statements are prepared anew.
    void reconnect() const { s_->reconnect(); }

    /// True while the connection works.
    [[nodiscard]] bool connected() const noexcept { return s_->connected(); }

    /// Batches sent and not answered yet.
    [[nodiscard]] std::size_t batches_in_flight() const noexcept { return s_->batches_in_flight(); }

    /// The libpq connection, to run other commands on (not while batches are in flight).
    [[nodiscard]] PGconn* native() const noexcept { return s_->native(); }

    /// Where the server's notices and warnings go (`RAISE NOTICE`, "table ... does not exist,
    /// skipping"): `handler(message)`, on the thread that reads the answer. By default they are
    /// dropped (libpq would print them to stderr). Kept across reconnections. An exception from
    /// the handler is dropped: it would have to cross libpq.
    void on_notice(std::function<void(std::string_view)> handler) const { s_->on_notice(std::move(handler)); }

    /// Sends `sql` (prepared once on this connection) with one parameter of type `param_type`
    /// in binary, and a sync; returns the number under which its answer will be filed.
    std::uint64_t send(std::string const& sql, Oid param_type, std::string const& param) const {
        return s_->send(sql, param_type, param);
    }

    /// What the connection waits for (see `batch::async_batcher`).
    [[nodiscard]] io_interest interest() const noexcept { return s_->interest(); }

    /// Sends what is left, reads what has come, and files the answers.
    void pump(short revents) const { s_->pump(revents); }

    /// True once the answer numbered `n` is filed (or its batch failed).
    [[nodiscard]] bool answered(std::uint64_t n) const { return s_->answered(n); }

    /// The answer numbered `n`; throws `batch::postgres::error` with the server's message if its
    /// query failed, `batch::postgres::connection_lost` if the connection ended it.
    detail::result_ptr take(std::uint64_t n) const { return s_->take(n); }

    /// The answer numbered `n` will be dropped when it comes.
    void abandon(std::uint64_t n) const { s_->abandon(n); }

private:
    std::shared_ptr<detail::session> s_;
};

/// Several connections to one server (see `batch::stores::pool`): `pool db(4, conninfo);`; the
/// batchers take one wherever they take a connection.
using pool = stores::pool<connection>;

} // namespace batch::postgres
