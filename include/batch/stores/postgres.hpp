#pragma once

// PostgreSQL batchers over libpq (target batch::postgres): key lookups, one query per batch,
// pipelined on one non-blocking connection, as asynchronous batchers.

#include <batch/async_batcher.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/detail/base/type_name.hpp>
#include <batch/error.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <concepts>
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
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

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

/// One row of a lookup's answer, read in text format.
class row {
public:
    row(PGresult const* r, int i) noexcept : result_(r), index_(i) {}

    [[nodiscard]] int columns() const noexcept { return PQnfields(result_); }
    [[nodiscard]] bool is_null(int column) const noexcept { return PQgetisnull(result_, index_, column) != 0; }

    /// The column's value as PostgreSQL writes it in text.
    [[nodiscard]] std::string_view text(int column) const noexcept {
        return {PQgetvalue(result_, index_, column), static_cast<std::size_t>(PQgetlength(result_, index_, column))};
    }

    /// The column's value as a `T`: an integer, a floating-point number, `bool`, `std::string`,
    /// or a `std::optional` of one of those (empty for SQL NULL; for other types NULL throws).
    template <class T>
    [[nodiscard]] T get(int column) const {
        if constexpr (batch::detail::is_optional_v<T>) {
            if (is_null(column)) return std::nullopt;
            return get<typename T::value_type>(column);
        } else {
            if (is_null(column)) throw error("batch::postgres: column " + std::to_string(column) + " is NULL");
            std::string_view const t = text(column);
            if constexpr (std::is_same_v<T, std::string>) {
                return std::string(t);
            } else if constexpr (std::is_same_v<T, bool>) {
                return t == "t";
            } else if constexpr (std::is_arithmetic_v<T>) {
                T v{};
                auto const [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
                if (ec != std::errc() || end != t.data() + t.size()) {
                    throw error("batch::postgres: column " + std::to_string(column) + " holds '" + std::string(t)
                                + "', which does not convert to the type asked for");
                }
                return v;
            } else {
                static_assert(batch::detail::wrong<T>, "batch::postgres: row::get<T> reads integers, floating-point "
                                                       "numbers, bool, std::string, or std::optional of those");
            }
        }
    }

private:
    PGresult const* result_;
    int index_;
};

/// A connection to PostgreSQL in libpq's pipeline mode, non-blocking: the queries of a round's
/// batches are sent one after another without waiting, each followed by its own sync (so a
/// failing query fails only its batch), and their answers come back in order. Statements are
/// prepared once per connection. Shared by any number of batchers of one executor; it must
/// outlive them. A lost connection fails the batches in flight with the server's message; it
/// is not reopened silently: call `reconnect()`.
class connection {
public:
    /// Connects (blocking, once) with a libpq connection string; throws `batch::postgres::error`.
    explicit connection(std::string conninfo) : conninfo_(std::move(conninfo)) { open(); }
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;
    ~connection() { PQfinish(native_); }

    /// Connects again, for instance after the server was restarted: the batches in flight fail,
    /// statements are prepared anew.
    void reconnect() {
        fail_all("batch::postgres: the connection was reopened while this batch was in flight");
        PQfinish(native_);
        native_ = nullptr;
        open();
    }

    /// True while the connection works.
    [[nodiscard]] bool connected() const noexcept { return !broken_ && PQstatus(native_) == CONNECTION_OK; }

    /// The libpq connection, to run other commands on (not while batches are in flight).
    [[nodiscard]] PGconn* native() noexcept { return native_; }

    /// Sends `sql` (prepared once on this connection) with one parameter of type `param_type`
    /// in binary, and a sync; returns the number under which its answer will be filed.
    std::uint64_t send(std::string const& sql, Oid param_type, std::string const& param) {
        if (!connected()) throw error(lost_ + " (call reconnect() on the connection)");
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
        segments_.push_back({next_, prepare ? 2 : 1, prepare ? sql : std::string()});
        flush();
        return next_++;
    }

    /// What the connection waits for: readable, and writable while a request is half sent.
    [[nodiscard]] io_interest interest() const noexcept {
        return {PQsocket(native_), static_cast<short>(POLLIN | (flushing_ ? POLLOUT : 0))};
    }

    /// Sends what is left, reads what has come, and files the answers; a lost connection fails
    /// every batch in flight.
    void pump(short revents) {
        if (broken_) return;
        if (revents & POLLOUT) flush();
        if (!PQconsumeInput(native_)) {
            lost(detail::message_of(native_));
            return;
        }
        while (!segments_.empty() && !PQisBusy(native_)) {
            detail::result_ptr r(PQgetResult(native_));
            segment& s = segments_.front();
            if (!r) { // the end of one command's results
                --s.commands;
                continue;
            }
            switch (PQresultStatus(r.get())) {
            case PGRES_PIPELINE_SYNC:
                finish(std::move(s));
                segments_.pop_front();
                break;
            case PGRES_TUPLES_OK:
                if (s.commands == 1) s.answer = std::move(r);
                break;
            case PGRES_COMMAND_OK: // the statement is prepared
                break;
            case PGRES_PIPELINE_ABORTED: // a command before it failed: that error is kept
                break;
            default:
                if (s.error.empty()) s.error = "batch::postgres: " + trimmed(PQresultErrorMessage(r.get()));
                if (!s.unprepare.empty() && s.commands == 2) statements_.erase(s.unprepare);
                if (PQstatus(native_) != CONNECTION_OK) {
                    lost(s.error);
                    return;
                }
                break;
            }
        }
        if (PQstatus(native_) != CONNECTION_OK) lost(detail::message_of(native_));
    }

    /// True once the answer numbered `n` is filed (or its batch failed).
    [[nodiscard]] bool answered(std::uint64_t n) const { return answers_.count(n) != 0; }

    /// The answer numbered `n`; throws `batch::postgres::error` with the server's message if its
    /// query failed.
    detail::result_ptr take(std::uint64_t n) {
        auto node = answers_.extract(n);
        if (!node) throw error("batch::postgres: no answer numbered " + std::to_string(n));
        if (node.mapped().error.empty()) return std::move(node.mapped().result);
        throw error(node.mapped().error);
    }

    /// The answer numbered `n` will be dropped when it comes.
    void abandon(std::uint64_t n) {
        if (answers_.erase(n) == 0) abandoned_.push_back(n);
    }

private:
    struct segment {
        std::uint64_t number;
        int commands;          ///< Commands whose results are still to come (prepare, query).
        std::string unprepare; ///< The statement to forget if its preparation fails.
        detail::result_ptr answer{};
        std::string error{};
    };
    struct answer {
        detail::result_ptr result;
        std::string error;
    };

    static std::string trimmed(std::string m) {
        while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
        return m;
    }

    void open() {
        native_ = PQconnectdb(conninfo_.c_str());
        if (PQstatus(native_) != CONNECTION_OK || PQsetnonblocking(native_, 1) != 0 || !PQenterPipelineMode(native_)) {
            std::string const why = detail::message_of(native_);
            PQfinish(native_);
            native_ = nullptr;
            throw error(why);
        }
        statements_.clear();
        broken_ = false;
        flushing_ = false;
    }

    void flush() {
        int const f = PQflush(native_);
        if (f < 0) lost(detail::message_of(native_));
        flushing_ = f == 1;
    }

    std::uint64_t fail_send(std::string const& sql) {
        statements_.erase(sql);
        std::string const why = detail::message_of(native_);
        if (PQstatus(native_) != CONNECTION_OK) lost(why);
        throw error(why);
    }

    void finish(segment&& s) {
        if (auto it = std::find(abandoned_.begin(), abandoned_.end(), s.number); it != abandoned_.end()) {
            abandoned_.erase(it);
            return;
        }
        if (s.error.empty() && !s.answer) s.error = "batch::postgres: the query returned no rows set";
        answers_[s.number] = {std::move(s.answer), std::move(s.error)};
    }

    void lost(std::string const& why) {
        broken_ = true;
        lost_ = why;
        fail_all(why);
    }

    void fail_all(std::string const& why) {
        for (auto& s : segments_) {
            s.answer.reset();
            if (s.error.empty()) s.error = why;
            finish(std::move(s));
        }
        segments_.clear();
    }

    std::string conninfo_;
    PGconn* native_ = nullptr;
    bool broken_ = false;
    bool flushing_ = false;
    std::string lost_ = "batch::postgres: the connection was lost";
    std::unordered_map<std::string, std::string> statements_; ///< SQL to its statement's name.
    std::deque<segment> segments_;                            ///< Sent, in order, not yet answered.
    std::map<std::uint64_t, answer> answers_;
    std::vector<std::uint64_t> abandoned_;
    std::uint64_t next_ = 0;
};

namespace detail {

inline void put_int32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

template <class Key>
constexpr bool integer_key = std::is_integral_v<Key> && !std::is_same_v<Key, bool>;

/// Keys as one binary array parameter (`int8[]` or `text[]`): no quoting, any bytes.
class array_parameter {
public:
    array_parameter(std::size_t count, bool integers) {
        put_int32(out_, 1);                  // dimensions
        put_int32(out_, 0);                  // no NULLs
        put_int32(out_, integers ? 20 : 25); // int8 or text
        put_int32(out_, static_cast<std::uint32_t>(count));
        put_int32(out_, 1); // lower bound
    }
    void add(std::int64_t k) {
        auto const v = static_cast<std::uint64_t>(k);
        put_int32(out_, 8);
        put_int32(out_, static_cast<std::uint32_t>(v >> 32));
        put_int32(out_, static_cast<std::uint32_t>(v));
    }
    void add(std::string_view k) {
        put_int32(out_, static_cast<std::uint32_t>(k.size()));
        out_ += k;
    }
    [[nodiscard]] std::string const& bytes() const noexcept { return out_; }

private:
    std::string out_;
};

} // namespace detail

/// A batcher for operations that each look up one row by key: one query per batch, `sql` with
/// the batch's keys as its one parameter `$1`, an array (`int8[]` for integer keys, `text[]`
/// for strings: `SELECT id, name FROM users WHERE id = ANY($1)`). The query returns each row's
/// key as its first column, in any order; `decode(row)` makes an operation's result from its
/// row. An operation whose key has no row gets `std::nullopt` when its `result_type` is a
/// `std::optional`, and fails with `batch::postgres::not_found` otherwise; a key with several
/// rows fails with `batch::postgres::error`. A failing query fails only its batch, with the
/// server's message.
template <class Op, class KeyOf, class Decode>
class lookup_batcher {
    using result_t = result_of_t<Op>;
    using key_t = std::remove_cvref_t<std::invoke_result_t<KeyOf const&, Op const&>>;
    static constexpr bool integer_keys = detail::integer_key<key_t>;
    static_assert(integer_keys || std::is_convertible_v<key_t, std::string_view>,
                  "batch::postgres: a lookup's key must be an integer or a string");

public:
    lookup_batcher(connection& c, std::string sql, KeyOf key_of, Decode decode)
        : connection_(&c), sql_(std::move(sql)), key_of_(std::move(key_of)), decode_(std::move(decode)) {}

    /// The store, as observers and traces show it.
    [[nodiscard]] static constexpr std::string_view name() noexcept { return "postgres"; }

    /// One batch: its query on the connection, until its answer is filed.
    class pending {
    public:
        pending(lookup_batcher const* b, std::span<Op const> ops, std::optional<std::uint64_t> number)
            : batcher_(b), ops_(ops), number_(number) {}

        [[nodiscard]] io_interest interest() const { return batcher_->connection_->interest(); }
        void advance(short revents) { batcher_->connection_->pump(revents); }
        [[nodiscard]] bool done() const { return !number_ || batcher_->connection_->answered(*number_); }
        std::vector<outcome<result_t>> results() { return batcher_->answer(ops_, number_); }
        void cancel() {
            if (number_) batcher_->connection_->abandon(*number_);
        }

    private:
        lookup_batcher const* batcher_;
        std::span<Op const> ops_;
        std::optional<std::uint64_t> number_;
    };

    pending submit(std::span<Op const> ops) const {
        if (ops.empty()) return pending(this, ops, std::nullopt);
        detail::array_parameter keys(ops.size(), integer_keys);
        for (auto const& op : ops) {
            if constexpr (integer_keys) {
                keys.add(static_cast<std::int64_t>(std::invoke(key_of_, op)));
            } else {
                keys.add(std::string_view(std::invoke(key_of_, op)));
            }
        }
        Oid const type = integer_keys ? 1016 : 1009; // int8[] or text[]
        return pending(this, ops, connection_->send(sql_, type, keys.bytes()));
    }

private:
    std::vector<outcome<result_t>> answer(std::span<Op const> ops, std::optional<std::uint64_t> number) const {
        std::vector<outcome<result_t>> out;
        if (!number) return out;
        detail::result_ptr const r = connection_->take(*number);
        // Each key to its row (or to -1 when it has several).
        std::unordered_map<std::string_view, int> rows;
        int const n = PQntuples(r.get());
        for (int i = 0; i < n; ++i) {
            std::string_view const key(PQgetvalue(r.get(), i, 0), static_cast<std::size_t>(PQgetlength(r.get(), i, 0)));
            auto const [it, fresh] = rows.try_emplace(key, i);
            if (!fresh) it->second = -1;
        }
        out.reserve(ops.size());
        for (auto const& op : ops) {
            std::string const key = batch::detail::key_text(std::invoke(key_of_, op));
            auto const it = rows.find(key);
            try {
                if (it == rows.end()) {
                    if constexpr (!batch::detail::is_optional_v<result_t>) {
                        throw not_found("batch::postgres: no row for key '" + key + "'");
                    } else {
                        out.emplace_back(result_t(std::nullopt));
                        continue;
                    }
                }
                if (it->second < 0) throw error("batch::postgres: several rows for key '" + key + "'");
                out.emplace_back(result_t(std::invoke(decode_, row(r.get(), it->second))));
            } catch (...) {
                out.emplace_back(std::current_exception());
            }
        }
        return out;
    }

    connection* connection_;
    std::string sql_;
    KeyOf key_of_;
    Decode decode_;
};

/// A lookup batcher for `Op` (see `lookup_batcher`).
template <class Op, class KeyOf, class Decode>
[[nodiscard]] lookup_batcher<Op, KeyOf, Decode> lookup(connection& c, std::string sql, KeyOf key_of, Decode decode) {
    return {c, std::move(sql), std::move(key_of), std::move(decode)};
}

/// Decodes columns 1.. of a row into a `std::tuple<Columns...>` (column 0 is the key).
template <class... Columns>
struct tuple_decoder {
    std::tuple<Columns...> operator()(row const& r) const {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return std::tuple<Columns...>(r.get<Columns>(static_cast<int>(I) + 1)...);
        }
        (std::index_sequence_for<Columns...>{});
    }
};

/// The ready form: looks rows up in `table` by `key_column` and gives `columns` as a
/// `std::tuple<Columns...>` (so `Op::result_type` is that tuple, or a `std::optional` of it).
/// Identifiers are quoted for SQL.
template <class Op, class... Columns, class KeyOf>
[[nodiscard]] auto table_lookup(connection& c, std::string_view table, std::string_view key_column,
                                std::array<std::string_view, sizeof...(Columns)> columns, KeyOf key_of) {
    auto const quote = [](std::string_view id) {
        std::string q = "\"";
        for (char ch : id) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        return q + "\"";
    };
    std::string sql = "SELECT " + quote(key_column);
    for (auto col : columns) sql += ", " + quote(col);
    sql += " FROM " + quote(table) + " WHERE " + quote(key_column) + " = ANY($1)";
    return lookup<Op>(c, std::move(sql), std::move(key_of), tuple_decoder<Columns...>{});
}

} // namespace batch::postgres
