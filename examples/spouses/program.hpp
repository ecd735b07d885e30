#pragma once

// The batched program: the original project's README, in C++ (API.md's seed example).

#include <batch/batch.hpp>

#include <boost/hana/tuple.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace demo {

struct user {
    std::int64_t id = 0;
    std::string name;
    bool operator==(user const&) const = default;
};

/// A user's name; empty when there is no such user.
struct get_name {
    std::int64_t id;
    using result_type = std::optional<std::string>;
};
/// A user's spouse; empty when single.
struct get_spouse_id {
    std::int64_t id;
    using result_type = std::optional<std::int64_t>;
};
using ops = batch::operations<get_name, get_spouse_id>;
template <class T>
using gen = batch::gen<T, ops>;

struct user_not_found : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline gen<user> gen_user(std::int64_t id) {
    std::optional<std::string> name = co_yield get_name{id};
    if (!name) throw user_not_found("no user " + std::to_string(id));
    co_return user{id, std::move(*name)};
}

inline gen<std::optional<user>> gen_spouse(std::int64_t id) {
    std::optional<std::int64_t> spouse_id = co_yield get_spouse_id{id};
    if (!spouse_id) co_return std::nullopt;
    user spouse = co_yield gen_user(*spouse_id);
    co_return spouse;
}

using couple = std::pair<user, std::optional<user>>;

inline gen<couple> gen_spouses(std::int64_t id) {
    auto [u, spouse] = co_yield boost::hana::make_tuple(gen_user(id), gen_spouse(id));
    co_return couple{std::move(u), std::move(spouse)};
}

/// The same, one query per item, against a client with name(id) and spouse(id).
template <class Client>
couple naive_spouses(Client& client, std::int64_t id) {
    auto name = client.name(id);
    if (!name) throw user_not_found("no user " + std::to_string(id));
    user u{id, std::move(*name)};
    auto const spouse_id = client.spouse(id);
    if (!spouse_id) return {std::move(u), std::nullopt};
    auto spouse_name = client.name(*spouse_id);
    if (!spouse_name) throw user_not_found("no user " + std::to_string(*spouse_id));
    return {std::move(u), user{*spouse_id, std::move(*spouse_name)}};
}

} // namespace demo
