#pragma once

// PostgreSQL batchers (target batch::postgres): key lookups, one query per batch with the
// batch's keys as one array parameter, pipelined on a `connection`, as asynchronous batchers.

#include <batch/async_batcher.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/detail/base/type_name.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>
#include <batch/stores/detail/checks.hpp>
#include <batch/stores/detail/pipeline.hpp>
#include <batch/stores/postgres/connection.hpp>
#include <batch/stores/postgres/row.hpp>

#include <libpq-fe.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace batch::postgres {

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
class lookup_batcher : public stores::detail::timeout_option<lookup_batcher<Op, KeyOf, Decode>> {
    using result_t = result_of_t<Op>;
    using key_t = std::remove_cvref_t<std::invoke_result_t<KeyOf const&, Op const&>>;
    static constexpr bool integer_keys = detail::integer_key<key_t>;

public:
    /// `to` is a connection or a pool of them.
    lookup_batcher(stores::detail::connection_source<connection> to, std::string sql, KeyOf key_of, Decode decode)
        : to_(std::move(to)), sql_(std::move(sql)), key_of_(std::move(key_of)), decode_(std::move(decode)) {}

    /// The store, as observers and traces show it.
    [[nodiscard]] static constexpr std::string_view name() noexcept { return "postgres"; }

    /// One batch: its query on the connection, until its answer is filed.
    using pending = stores::detail::pending<lookup_batcher, Op, connection>;

    pending submit(std::span<Op const> ops) const {
        connection& c = to_.pick();
        if (ops.empty()) return pending(this, &c, ops, std::nullopt);
        detail::array_parameter keys(ops.size(), integer_keys);
        for (auto const& op : ops) {
            if constexpr (integer_keys) {
                keys.add(static_cast<std::int64_t>(std::invoke(key_of_, op)));
            } else {
                keys.add(std::string_view(std::invoke(key_of_, op)));
            }
        }
        Oid const type = integer_keys ? 1016 : 1009; // int8[] or text[]
        return pending(this, &c, ops, c.send(sql_, type, keys.bytes()));
    }

    /// The results of a batch from its answer, in the order of `ops`.
    std::vector<outcome<result_t>> answer(std::span<Op const> ops, detail::result_ptr r) const {
        std::vector<outcome<result_t>> out;
        if (ops.empty()) return out;
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
            if (it == rows.end()) {
                out.push_back(stores::detail::missing<result_t, not_found>("batch::postgres", "no row for key", key));
                continue;
            }
            out.push_back(stores::detail::decoded<result_t, error>(
                "batch::postgres", [&] { return key; },
                [&] {
                    if (it->second < 0) throw error("batch::postgres: several rows for key '" + key + "'");
                    return std::invoke(decode_, row(r.get(), it->second));
                }));
        }
        return out;
    }

    stores::detail::connection_source<connection> to_;
    std::string sql_;
    KeyOf key_of_;
    Decode decode_;
};

/// A lookup batcher for `Op` (see `lookup_batcher`). A mistake in what it is given (a `key_of`
/// that does not give an integer or a string, a decoder that does not take a `row` or does not
/// give the result) is one `batch: ...` error here.
template <class Op, class KeyOf, class Decode>
[[nodiscard]] auto lookup(stores::detail::connection_source<connection> to, std::string sql, KeyOf key_of,
                          Decode decode) {
    using result_t = result_of_t<Op>;
    constexpr bool keyed = stores::detail::key_callable<Op, KeyOf>;
    static_assert(keyed, "batch: postgres::lookup: key_of must be callable with the operation (an Op const&), "
                         "such as &Op::id");
    constexpr bool key_typed = stores::detail::key_is_integer_or_string<Op, KeyOf>();
    static_assert(key_typed, "batch: postgres::lookup: key_of(op) must give an integer or a string");
    constexpr bool reads = stores::detail::decoder_callable<Decode, row>;
    static_assert(reads, "batch: postgres::lookup: the decoder must be callable with a batch::postgres::row");
    constexpr bool gives = stores::detail::decoder_gives<result_t, Decode, row>();
    static_assert(gives, "batch: postgres::lookup: the decoder must return the operation's result_type (for a "
                         "std::optional result, its value type)");
    if constexpr (keyed && key_typed && reads && gives) {
        return lookup_batcher<Op, KeyOf, Decode>(std::move(to), std::move(sql), std::move(key_of), std::move(decode));
    } else {
        return stores::detail::not_built<Op>();
    }
}

/// A lookup without a decoder: one `batch: ...` error, which names what is missing.
template <class Op, class KeyOf>
[[nodiscard]] auto lookup(stores::detail::connection_source<connection>, std::string, KeyOf) {
    static_assert(batch::detail::wrong<Op>, "batch: postgres::lookup needs a decoder, a function of a "
                                            "batch::postgres::row giving the result: lookup<Op>(connection, sql, "
                                            "key_of, decode)");
    return stores::detail::not_built<Op>();
}

/// The ready form: looks rows up in `table` by `key_column` and gives `columns` as a
/// `std::tuple<Columns...>` (so `Op::result_type` is that tuple, or a `std::optional` of it).
/// Identifiers are quoted for SQL.
template <class Op, class... Columns, class KeyOf>
[[nodiscard]] auto table_lookup(stores::detail::connection_source<connection> to, std::string_view table,
                                std::string_view key_column, std::array<std::string_view, sizeof...(Columns)> columns,
                                KeyOf key_of) {
    using row_t = std::tuple<Columns...>;
    constexpr bool readable = (row::readable<Columns> && ...);
    static_assert(readable, "batch: postgres::table_lookup: each column's type must be an integer, a floating-point "
                            "number, bool, std::string, or a std::optional of one of those");
    constexpr bool matches =
        !readable || std::is_same_v<result_of_t<Op>, row_t> || std::is_same_v<result_of_t<Op>, std::optional<row_t>>;
    static_assert(matches, "batch: postgres::table_lookup<Op, Columns...> gives a std::tuple<Columns...>: the "
                           "operation's result_type must be that tuple or a std::optional of it");
    if constexpr (readable && matches) {
        auto const quote = [](std::string_view id) {
            std::string q = "\"";
            for (char ch : id) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
            return q + "\"";
        };
        std::string sql = "SELECT " + quote(key_column);
        for (auto col : columns) sql += ", " + quote(col);
        sql += " FROM " + quote(table) + " WHERE " + quote(key_column) + " = ANY($1)";
        return lookup<Op>(std::move(to), std::move(sql), std::move(key_of), tuple_decoder<Columns...>{});
    } else {
        return stores::detail::not_built<Op>();
    }
}

} // namespace batch::postgres
