#define BOOST_TEST_MODULE asio_stores
// Executors that share connections under batch::asio::async_run: 1,000 executors, one
// PostgreSQL and one Redis connection between them, one io_context thread. Each descriptor is
// registered with the io_context once for as long as it is the same socket (before, each run
// registered it for each wait, and every run but one failed with "assign: File exists"); a
// connection reopened under the same descriptor number is registered anew.
#include <utility>

#include "people.hpp"

#include <batch/asio/async_run.hpp>
#include <batch/stores/postgres.hpp>
#include <batch/stores/redis.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace test::people;

constexpr std::int64_t people = 1000;

auto make(batch::postgres::connection const& pg, batch::redis::connection const& rd) {
    return batch::make_executor<ops>(names(pg), spouses(rd));
}
using executor_t =
    decltype(make(std::declval<batch::postgres::connection&>(), std::declval<batch::redis::connection&>()));

/// Executors made in a function of their own, from connections that are its locals: when it
/// returns, the only handles of the two connections are the copies the batchers hold.
std::vector<std::unique_ptr<executor_t>> made_from_locals(test::stores_env const& env) {
    batch::postgres::connection pg(env.postgres);
    batch::redis::connection rd(env.redis);
    std::vector<std::unique_ptr<executor_t>> executors;
    for (std::int64_t i = 0; i < people; ++i) executors.push_back(std::make_unique<executor_t>(make(pg, rd)));
    return executors;
}

/// Runs `couple(id)` for every person, each on an executor of its own, all at once on `io`;
/// returns how many came back right.
std::int64_t serve(boost::asio::io_context& io, std::vector<std::unique_ptr<executor_t>>& executors) {
    std::int64_t right = 0;
    std::vector<std::string> failures;
    for (std::int64_t id = 1; id <= people; ++id) {
        batch::asio::async_run(io, *executors[static_cast<std::size_t>(id - 1)], couple(id),
                               [&, id](std::exception_ptr e, std::string const& v) {
                                   if (e) {
                                       try {
                                           std::rethrow_exception(e);
                                       } catch (std::exception const& x) {
                                           if (failures.size() < 3) failures.emplace_back(x.what());
                                       }
                                       return;
                                   }
                                   right += v == expected(id);
                               });
    }
    io.restart();
    io.run();
    for (auto const& f : failures) BOOST_TEST_MESSAGE("failed: " << f);
    return right;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_thousand_executors_share_one_connection_to_each_store) {
    auto const env = test::stores_env::read();
    load(env, people);
    batch::postgres::connection pg(env.postgres);
    batch::redis::connection rd(env.redis);
    std::vector<std::unique_ptr<executor_t>> executors;
    for (std::int64_t i = 0; i < people; ++i) executors.push_back(std::make_unique<executor_t>(make(pg, rd)));

    boost::asio::io_context io;
    BOOST_TEST(serve(io, executors) == people);
    auto& registry = batch::asio::detail::descriptors::of(io.get_executor());
    BOOST_TEST(registry.registrations() == 2u); // one per connection, for 1,000 runs of 2 rounds

    // A connection reopened (most likely under the same descriptor number) is a new socket: it
    // is registered anew, and the runs on it are served as before.
    pg.reconnect();
    rd.reconnect();
    BOOST_TEST(serve(io, executors) == people);
    BOOST_TEST(registry.registrations() == 4u);
    BOOST_TEST(serve(io, executors) == people);
    BOOST_TEST(registry.registrations() == 4u);
}

BOOST_AUTO_TEST_CASE(connections_that_were_locals_of_the_function_that_made_the_executors_live_on_in_them) {
    // Before connections were handles, the batchers kept a reference to pg and rd here: a
    // release build failed with a garbage message, AddressSanitizer saw a stack-use-after-return.
    auto const env = test::stores_env::read();
    load(env, people);
    auto executors = made_from_locals(env);
    boost::asio::io_context io;
    BOOST_TEST(serve(io, executors) == people);
    BOOST_TEST(batch::asio::detail::descriptors::of(io.get_executor()).registrations() == 2u);

    // A batcher may even be made from a temporary connection: it holds the only handle.
    auto alone = batch::make_executor<ops>(names(batch::postgres::connection(env.postgres)),
                                           spouses(batch::redis::connection(env.redis)));
    BOOST_TEST(alone.run(couple(7)) == expected(7));
}
