#define BOOST_TEST_MODULE asio
// The Boost.Asio bridge: batch::asio::async_run completes through callbacks, futures and
// (with g++) coroutines, and one io_context thread serves many runs at once, each on its own
// executor, waiting for their batches' descriptors through the io_context.
#include <utility>

#include "socket_store.hpp"
#include "support.hpp"

#include <batch/asio/async_run.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct get_user {
    int key;
    using result_type = int;
};
struct get_spouse {
    int key;
    using result_type = int;
};
using ops = batch::operations<get_user, get_spouse>;
template <class T>
using gen = batch::gen<T, ops>;

using store_executor = batch::executor<ops, test::store_batcher<get_user>, test::store_batcher<get_spouse>>;

store_executor make_store_executor(test::socket_store const& users, test::socket_store const& spouses,
                                   std::chrono::milliseconds timeout = {}) {
    return batch::make_executor<ops>(test::store_batcher<get_user>(users, "users", nullptr, timeout),
                                     test::store_batcher<get_spouse>(spouses, "spouses"));
}

gen<int> couple(int id) {
    auto [u, s] = co_yield boost::hana::make_tuple(get_user{id}, get_spouse{id});
    int const again = co_yield get_user{s}; // a second round
    co_return u + s + again;
}

gen<int> fails_after_a_round(int id) {
    co_yield get_user{id};
    throw test::boom("after a round");
}

gen<void> nothing_but_a_round(int id, int& seen) { seen = co_yield get_user{id}; }

/// Both ends of a socket pair: a connection's (`client`) and its in-process server's.
struct socket_pair {
    int client = -1;
    int server = -1;

    socket_pair() {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
            throw std::runtime_error("socketpair failed");
        client = fds[0];
        server = fds[1];
    }
    socket_pair(socket_pair const&) = delete;
    socket_pair& operator=(socket_pair const&) = delete;
    ~socket_pair() {
        ::close(client);
        ::close(server);
    }
};

/// A connection that runs on several executors share, to an in-process server on the other end
/// of a socket pair: the server holds each request until a flushing one comes, then answers
/// them all at once; and a request's sender reads what has come as it sends (libpq does). So the
/// flushing request's run reads, and files, the answers of the others, and nothing is left in
/// the socket to wake them.
struct shared_line : socket_pair {
    std::vector<unsigned char> held; ///< Requests (keys) the server has not answered yet.
    std::map<int, int> answers;      ///< Filed, by key.

    void send(int key, bool flush) {
        held.push_back(static_cast<unsigned char>(key));
        if (flush) {
            if (::write(server, held.data(), held.size()) != static_cast<ssize_t>(held.size()))
                throw std::runtime_error("write to a socket pair failed");
            held.clear();
        }
        read();
    }

    void read() {
        unsigned char got[64];
        ssize_t n;
        while ((n = ::read(client, got, sizeof got)) > 0) {
            for (ssize_t i = 0; i < n; ++i) answers[got[i]] = 2 * got[i];
            batch::answers_filed(client); // the runs that wait for them may be others
        }
    }
};

struct line_op {
    int key;
    bool flush = false;
    using result_type = int;
};
using line_ops = batch::operations<line_op>;

struct line_batcher {
    shared_line* line;

    struct pending {
        shared_line* line;
        std::vector<int> keys;
        [[nodiscard]] batch::io_interest interest() const { return {line->client, POLLIN}; }
        void advance(short) { line->read(); }
        [[nodiscard]] bool done() const {
            return std::all_of(keys.begin(), keys.end(), [&](int k) { return line->answers.count(k) != 0; });
        }
        std::vector<int> results() const {
            std::vector<int> out;
            for (int k : keys) out.push_back(line->answers.at(k));
            return out;
        }
    };

    pending submit(std::span<line_op const> ops) const {
        pending p{line, {}};
        for (auto const& op : ops) {
            p.keys.push_back(op.key);
            line->send(op.key, op.flush);
        }
        return p;
    }
};

batch::gen<int, line_ops> ask(int key, bool flush) { co_return co_yield line_op{key, flush}; }

/// A connection that numbers its answers (`io_interest::answer`), to a server that the test
/// plays by hand: each byte written to `server` answers the oldest request not answered yet.
struct numbered_line : socket_pair {
    std::uint64_t sent = 0;  ///< Requests numbered so far (from 1).
    std::uint64_t filed = 0; ///< Answers filed so far, in order.
    std::map<std::uint64_t, int> answers;
    int advances = 0; ///< Calls of `advance`: how often a run was woken to read.

    /// The server answers the next `n` requests with `value`.
    void answer(std::size_t n, unsigned char value) {
        std::vector<unsigned char> bytes(n, value);
        if (::write(server, bytes.data(), n) != static_cast<ssize_t>(n)) throw std::runtime_error("write failed");
    }

    void read() {
        ++advances;
        unsigned char got[64];
        ssize_t n;
        while ((n = ::read(client, got, sizeof got)) > 0) {
            for (ssize_t i = 0; i < n; ++i) answers[++filed] = got[i];
            batch::answers_filed(client, filed); // the runs that wait for them may be others
        }
    }
};

struct numbered_op {
    int key;
    using result_type = int;
};
using numbered_ops = batch::operations<numbered_op>;

struct numbered_batcher {
    numbered_line* line;

    struct pending {
        numbered_line* line;
        std::uint64_t number;
        [[nodiscard]] batch::io_interest interest() const { return {line->client, POLLIN, 0, number}; }
        void advance(short) { line->read(); }
        [[nodiscard]] bool done() const { return line->filed >= number; }
        std::vector<int> results() const { return {line->answers.at(number)}; }
    };

    pending submit(std::span<numbered_op const>) const { return {line, ++line->sent}; }
};

batch::gen<int, numbered_ops> ask_numbered(int key) { co_return co_yield numbered_op{key}; }

} // namespace

BOOST_AUTO_TEST_CASE(a_callback_gets_the_result_or_the_failure) {
    test::socket_store store(1ms);
    auto ex = make_store_executor(store, store);
    boost::asio::io_context io;
    std::optional<int> got;
    std::exception_ptr failure;
    batch::asio::async_run(io, ex, couple(3), [&](std::exception_ptr e, int v) {
        failure = e;
        got = v;
    });
    io.run();
    BOOST_TEST(!failure);
    BOOST_TEST(got.value_or(-1) == 6 + 6 + 12);
    BOOST_TEST(ex.stats().rounds == 2u);

    io.restart();
    batch::asio::async_run(io, ex, fails_after_a_round(1), [&](std::exception_ptr e, int) { failure = e; });
    io.run();
    BOOST_CHECK_THROW(std::rethrow_exception(failure), test::boom);

    io.restart();
    int seen = 0;
    bool completed = false;
    batch::asio::async_run(io, ex, nothing_but_a_round(21, seen), [&](std::exception_ptr e) { completed = !e; });
    io.run();
    BOOST_TEST(completed);
    BOOST_TEST(seen == 42);
}

BOOST_AUTO_TEST_CASE(a_future_gets_the_result_or_the_failure) {
    test::socket_store store(1ms);
    auto ex = make_store_executor(store, store);
    boost::asio::io_context io;
    auto done = batch::asio::async_run(io, ex, couple(5), boost::asio::use_future);
    io.run();
    BOOST_TEST(done.get() == 10 + 10 + 20);

    io.restart();
    auto failed = batch::asio::async_run(io, ex, fails_after_a_round(2), boost::asio::use_future);
    io.run();
    BOOST_CHECK_THROW(failed.get(), test::boom);
}

BOOST_AUTO_TEST_CASE(a_misuse_reaches_the_handler_and_the_executor_stays_usable) {
    test::socket_store store(0ms);
    auto ex = make_store_executor(store, store);
    boost::asio::io_context io;
    gen<int> empty;
    auto misused = batch::asio::async_run(io, ex, std::move(empty), boost::asio::use_future);
    io.run();
    BOOST_CHECK_THROW(misused.get(), batch::usage_error);
    BOOST_TEST(ex.run(couple(1)) == 2 + 2 + 4);
}

BOOST_AUTO_TEST_CASE(an_executor_held_by_async_run_refuses_to_move_until_its_run_ends) {
    test::socket_store store(0ms);
    std::vector<store_executor> executors; // no reserve(): the second push_back would move the first
    executors.push_back(make_store_executor(store, store));
    boost::asio::io_context io;
    auto done = batch::asio::async_run(io, executors[0], couple(2), boost::asio::use_future);
    std::string refusal;
    try {
        executors.push_back(make_store_executor(store, store));
    } catch (batch::usage_error const& e) {
        refusal = e.what();
    }
    BOOST_TEST(refusal.find("moved while a run") != std::string::npos, refusal);
    io.run();
    BOOST_TEST(done.get() == 4 + 4 + 8);
    executors.reserve(4); // the run has ended: the executors may move again
    BOOST_TEST(executors[0].run(couple(1)) == 2 + 2 + 4);

    // A run that never starts (its io_context goes first) does not hold the executor forever.
    {
        boost::asio::io_context never;
        batch::asio::async_run(never, executors[0], couple(3), [](std::exception_ptr, int) {});
    }
    auto moved = std::move(executors[0]);
    BOOST_TEST(moved.run(couple(1)) == 2 + 2 + 4);
}

BOOST_AUTO_TEST_CASE(a_deadline_passes_inside_the_event_loop) {
    test::socket_store slow(300ms);
    auto ex = make_store_executor(slow, slow, 20ms);
    boost::asio::io_context io;
    auto late = batch::asio::async_run(io, ex, get_user{1}, boost::asio::use_future);
    io.run();
    BOOST_CHECK_THROW(late.get(), batch::timeout_error);
}

BOOST_AUTO_TEST_CASE(a_run_whose_answer_another_run_filed_is_woken_at_once) {
    // The first run waits on the shared connection; the second run's request makes the server
    // answer both, and the second run reads both answers as it sends. The socket is empty again
    // before the event loop looks, so only `batch::answers_filed` can wake the first run.
    shared_line line;
    auto waiting = batch::make_executor<line_ops>(line_batcher{&line});
    auto reading = batch::make_executor<line_ops>(line_batcher{&line});
    boost::asio::io_context io;
    std::optional<int> first, second;
    batch::asio::async_run(io, waiting, ask(2, false), [&](std::exception_ptr e, int v) {
        if (!e) first = v;
    });
    batch::asio::async_run(io, reading, ask(1, true), [&](std::exception_ptr e, int v) {
        if (!e) second = v;
    });
    io.run_for(5s); // returns as soon as both are done
    BOOST_TEST(second.value_or(-1) == 2);
    BOOST_TEST(first.value_or(-1) == 4);
    BOOST_TEST(waiting.stats().rounds == 1u);
}

BOOST_AUTO_TEST_CASE(one_run_reads_for_all_on_a_connection_that_numbers_its_answers) {
    // Three runs wait on one connection. The first answer wakes only the run it answers (the
    // others would find nothing); that run ends without waiting again, and the runs left must
    // still hear of the answers that come later: one of them reads both, and wakes the other.
    numbered_line line;
    std::vector<std::unique_ptr<batch::executor<numbered_ops, numbered_batcher>>> executors;
    boost::asio::io_context io;
    std::vector<std::optional<int>> got(3);
    for (std::size_t i = 0; i < 3; ++i) {
        executors.push_back(std::make_unique<batch::executor<numbered_ops, numbered_batcher>>(
            batch::make_executor<numbered_ops>(numbered_batcher{&line})));
        batch::asio::async_run(io, *executors[i], ask_numbered(static_cast<int>(i)),
                               [&got, i](std::exception_ptr e, int v) {
                                   if (!e) got[i] = v;
                               });
    }
    boost::asio::steady_timer first(io, 20ms), rest(io, 60ms);
    int advances_after_first = -1;
    first.async_wait([&](boost::system::error_code const&) { line.answer(1, 7); });
    rest.async_wait([&](boost::system::error_code const&) {
        advances_after_first = line.advances;
        line.answer(2, 9);
    });
    io.run_for(5s); // returns as soon as all are done
    BOOST_TEST(got[0].value_or(-1) == 7);
    BOOST_TEST(got[1].value_or(-1) == 9);
    BOOST_TEST(got[2].value_or(-1) == 9);
    BOOST_TEST(advances_after_first == 1); // one read for the first answer, not one per run
    BOOST_TEST(line.advances == 2);        // and one for the other two
}

BOOST_AUTO_TEST_CASE(one_thread_serves_a_thousand_runs_at_once) {
    // The store answers nothing until all 1,000 requests of the first round have arrived: the
    // runs only finish if every one of them has its batches in flight at the same time.
    constexpr int runs = 1000;
    test::allow_many_descriptors();
    test::socket_store users(0ms, runs);
    test::socket_store spouses(0ms);
    std::vector<std::unique_ptr<store_executor>> executors;
    for (int i = 0; i < runs; ++i)
        executors.push_back(std::make_unique<store_executor>(std::in_place,
                                                             test::store_batcher<get_user>(users, "users"),
                                                             test::store_batcher<get_spouse>(spouses, "spouses")));
    boost::asio::io_context io;
    std::vector<std::optional<int>> results(runs);
    int failures = 0;
    for (int i = 0; i < runs; ++i) {
        batch::asio::async_run(io, *executors[static_cast<std::size_t>(i)], couple(i),
                               [&, i](std::exception_ptr e, int v) {
                                   if (e) {
                                       ++failures;
                                   } else {
                                       results[static_cast<std::size_t>(i)] = v;
                                   }
                               });
    }
    io.run(); // this thread alone
    BOOST_TEST(failures == 0);
    BOOST_TEST(!users.barrier_timed_out());
    int right = 0;
    for (int i = 0; i < runs; ++i) right += results[static_cast<std::size_t>(i)].value_or(-1) == 8 * i;
    BOOST_TEST(right == runs);
}

#if defined(BOOST_ASIO_HAS_CO_AWAIT)
BOOST_AUTO_TEST_CASE(a_coroutine_co_awaits_a_run) {
    test::socket_store store(1ms);
    auto ex = make_store_executor(store, store);
    boost::asio::io_context io;
    std::optional<int> got;
    bool caught = false;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            got = co_await batch::asio::async_run(io, ex, couple(7), boost::asio::use_awaitable);
            try {
                co_await batch::asio::async_run(io, ex, fails_after_a_round(1), boost::asio::use_awaitable);
            } catch (test::boom const&) {
                caught = true;
            }
        },
        boost::asio::detached);
    io.run();
    BOOST_TEST(got.value_or(-1) == 14 + 14 + 28);
    BOOST_TEST(caught);
}
#endif
