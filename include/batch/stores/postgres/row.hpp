#pragma once

// A row of a PostgreSQL answer, as a lookup's decoder reads it, and the decoder of
// `table_lookup`.

#include <batch/detail/base/traits.hpp>
#include <batch/stores/postgres/connection.hpp>

#include <libpq-fe.h>

#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

namespace batch::postgres {

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

    /// True for the `T`s that `get<T>` reads.
    template <class T>
    static constexpr bool readable =
        std::is_arithmetic_v<typename batch::detail::unwrap_optional<
            T>::type> || std::is_same_v<typename batch::detail::unwrap_optional<T>::type, std::string>;

    /// The column's value as a `T`: an integer, a floating-point number, `bool`, `std::string`,
    /// or a `std::optional` of one of those (empty for SQL NULL; for other types NULL throws).
    template <class T>
    [[nodiscard]] T get(int column) const {
        static_assert(readable<T>, "batch: postgres::row::get<T> reads integers, floating-point numbers, bool, "
                                   "std::string, or std::optional of those");
        if constexpr (!readable<T>) {
            throw error("batch::postgres: row::get of a type it cannot read"); // reported above
        } else if constexpr (batch::detail::is_optional_v<T>) {
            if (is_null(column)) return std::nullopt;
            return get<typename T::value_type>(column);
        } else {
            if (is_null(column)) throw error("batch::postgres: column " + std::to_string(column) + " is NULL");
            std::string_view const t = text(column);
            if constexpr (std::is_same_v<T, std::string>) {
                return std::string(t);
            } else if constexpr (std::is_same_v<T, bool>) {
                return t == "t";
            } else {
                T v{};
                auto const [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
                if (ec != std::errc() || end != t.data() + t.size()) {
                    throw error("batch::postgres: column " + std::to_string(column) + " holds '" + std::string(t)
                                + "', which does not convert to the type asked for");
                }
                return v;
            }
        }
    }

private:
    PGresult const* result_;
    int index_;
};

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

} // namespace batch::postgres
