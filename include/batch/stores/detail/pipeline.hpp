#pragma once

// What every store connection does with the batches pipelined on it: each batch sent gets a
// number; its answer (or the failure that ended it) is filed under that number when it comes,
// in the order the batches were sent; a batch given up is dropped when its answer comes; a
// lost connection fails every batch in flight. And what every store's pending batch does: ask
// the connection. The stores (postgres/, redis/) supply what a segment and an answer are.

#include <batch/async_batcher.hpp>
#include <batch/detail/base/traits.hpp>
#include <batch/outcome.hpp>
#include <batch/stores/reconnection.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace batch::stores::detail {

/// The batches of one connection, from sent to taken. `Segment` is what a batch in flight
/// collects (it has a `number`), `Answer` what is filed for it when it is complete, `Error` the
/// store's exception type for a failed command, `Lost` (derived from it) for a connection that
/// was lost or reopened: a program can tell the two apart, and retry only the second.
template <class Segment, class Answer, class Error, class Lost>
class pipeline {
public:
    /// `store` names the store in messages ("batch::postgres").
    explicit pipeline(std::string store) : store_(std::move(store)), lost_(store_ + ": the connection was lost") {}

    /// Throws the store's error if the connection was lost, naming the fix.
    void check_usable() const {
        if (broken_) throw Lost(lost_ + " (call reconnect() on the connection)");
    }

    /// Before a batch is sent on a lost connection: opens it again with `open()` as `policy`
    /// says, or throws `Lost` naming why it is down and when the next attempt comes. `open`
    /// throws the store's error when it cannot connect.
    template <class Open>
    void revive(reconnection const& policy, Open&& open) {
        if (!broken_) return;
        if (!policy.automatic) check_usable();
        auto const now = std::chrono::steady_clock::now();
        if (now < next_attempt_) throw Lost(lost_ + "; reconnecting " + in(next_attempt_ - now));
        try {
            open();
        } catch (Error const& e) {
            delay_ = delay_ == delay_.zero() ? policy.first_delay : std::min(2 * delay_, policy.longest_delay);
            next_attempt_ = now + delay_;
            lost_ = e.what();
            throw Lost(lost_ + "; reconnecting " + in(delay_));
        }
        delay_ = delay_.zero();
    }

    /// A batch was sent: its segment, numbered; returns its number.
    std::uint64_t sent(Segment s) {
        s.number = next_;
        segments_.push_back(std::move(s));
        return next_++;
    }

    [[nodiscard]] bool in_flight() const noexcept { return !segments_.empty(); }
    [[nodiscard]] std::size_t count_in_flight() const noexcept { return segments_.size(); }

    /// The oldest batch in flight, whose answer comes next.
    [[nodiscard]] Segment& oldest() noexcept { return segments_.front(); }

    /// The oldest batch is complete: `answer` is filed under its number (or dropped, if the batch
    /// was given up), with `error` if it failed.
    void complete_oldest(Answer answer, std::string error = {}) {
        file(segments_.front().number, {std::move(answer), std::move(error), false});
        segments_.pop_front();
    }

    /// The connection is lost: every batch in flight fails with `why` (or with the failure it
    /// had already, see `fail_all`), and every send fails until the connection is reopened.
    template <class FailureOf>
    void lost(std::string const& why, FailureOf&& failure_of) {
        broken_ = true;
        lost_ = why;
        fail_all(why, failure_of);
    }
    void lost(std::string const& why) {
        lost(why, [](Segment const&) { return failure{}; });
    }

    /// How a batch failed: its message, and whether the connection ended it.
    struct failure {
        std::string message;
        bool lost = false;
    };

    /// Every batch in flight fails with `why`, as lost, unless it had failed already:
    /// `failure_of(segment)` gives that failure, or an empty message.
    template <class FailureOf>
    void fail_all(std::string const& why, FailureOf&& failure_of) {
        for (auto& s : segments_) {
            failure f = failure_of(s);
            if (f.message.empty()) f = {why, true};
            file(s.number, {Answer{}, std::move(f.message), f.lost});
        }
        segments_.clear();
    }
    void fail_all(std::string const& why) {
        fail_all(why, [](Segment const&) { return failure{}; });
    }

    /// The connection was opened again, on descriptor `fd`: it gets a new `connection_id()`.
    void reopened(int fd) noexcept {
        broken_ = false;
        fd_ = fd;
        id_ = batch::new_connection_id();
    }

    /// What names the connection as opened last (`io_interest::connection`).
    [[nodiscard]] std::uint64_t connection_id() const noexcept { return id_; }

    [[nodiscard]] bool broken() const noexcept { return broken_; }

    /// True once the batch numbered `n` has its answer (or its failure).
    [[nodiscard]] bool answered(std::uint64_t n) const { return answers_.count(n) != 0; }

    /// The answer of the batch numbered `n`; throws the store's error with the message of its
    /// failure, if it failed (`Lost` if the connection was lost or reopened first).
    Answer take(std::uint64_t n) {
        auto node = answers_.extract(n);
        if (!node) throw Error(store_ + ": no answer numbered " + std::to_string(n));
        if (node.mapped().lost) throw Lost(node.mapped().error);
        if (!node.mapped().error.empty()) throw Error(node.mapped().error);
        return std::move(node.mapped().answer);
    }

    /// The batch numbered `n` is given up: its answer is dropped when it comes.
    void abandon(std::uint64_t n) {
        if (answers_.erase(n) == 0) abandoned_.push_back(n);
    }

private:
    static std::string in(std::chrono::steady_clock::duration d) {
        auto const ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
        return "in " + std::to_string(ms) + " ms";
    }

    struct filed {
        Answer answer;
        std::string error; ///< Empty unless the batch failed.
        bool lost = false; ///< It failed because the connection was lost or reopened.
    };

    void file(std::uint64_t n, filed f) {
        if (auto it = std::find(abandoned_.begin(), abandoned_.end(), n); it != abandoned_.end()) {
            abandoned_.erase(it);
            return;
        }
        answers_[n] = std::move(f);
        batch::answers_filed(fd_, n); // the run waiting for it may be another: it is woken
    }

    std::string store_;
    std::string lost_;
    bool broken_ = false;
    int fd_ = -1;          ///< The connection's descriptor, on which its batches' runs wait.
    std::uint64_t id_ = 0; ///< Its `io_interest::connection`.
    std::chrono::steady_clock::time_point next_attempt_{}; ///< No reconnection before this.
    std::chrono::milliseconds delay_{};                    ///< After the last failed attempt, if any.
    std::deque<Segment> segments_;                         ///< Sent, in order, not yet complete.
    std::map<std::uint64_t, filed> answers_;
    std::vector<std::uint64_t> abandoned_;
    std::uint64_t next_ = 1; ///< Numbers from 1 up, filed in order (`io_interest::answer`).
};

/// A store batcher's time limit (the CRTP base of each): `timeout()`, none by default, and
/// `with_timeout(t)`, a copy of the batcher whose batches fail with `batch::timeout_error` (naming
/// the operation type and the store) when their answer has not come within `t`; an answer that
/// comes later is dropped, and the connection goes on.
template <class Batcher>
class timeout_option {
public:
    [[nodiscard]] std::chrono::milliseconds timeout() const noexcept { return timeout_; }

    [[nodiscard]] Batcher with_timeout(std::chrono::milliseconds t) const {
        Batcher copy = static_cast<Batcher const&>(*this);
        static_cast<timeout_option&>(copy).timeout_ = t;
        return copy;
    }

private:
    std::chrono::milliseconds timeout_{};
};

/// A pending batch of a store batcher (`batch::pending_batch`): it asks the connection whether
/// its answer (numbered `number`) has come, and hands the answer to the batcher's
/// `answer(ops, answer)`. A batch with no operations sends nothing and is done at once.
template <class Batcher, class Op, class Connection>
class pending {
public:
    pending(Batcher const* b, Connection* c, std::span<Op const> ops, std::optional<std::uint64_t> number)
        : batcher_(b), connection_(c), ops_(ops), number_(number) {}

    /// The store, as a timeout's message names it.
    [[nodiscard]] static constexpr std::string_view name() noexcept { return Batcher::name(); }

    [[nodiscard]] io_interest interest() const {
        io_interest want = connection_->interest();
        if (number_) want.answer = *number_;
        return want;
    }
    void advance(short revents) { connection_->pump(revents); }
    [[nodiscard]] bool done() const { return !number_ || connection_->answered(*number_); }
    auto results() {
        decltype(connection_->take(0)) answer{};
        if (number_) answer = connection_->take(*number_);
        return batcher_->answer(ops_, std::move(answer));
    }
    void cancel() {
        if (number_) connection_->abandon(*number_);
    }

private:
    Batcher const* batcher_;
    Connection* connection_;
    std::span<Op const> ops_;
    std::optional<std::uint64_t> number_;
};

/// The outcome of `make()`, the result (of type `R`) decoded from the value at a key, or the
/// failure it threw: one operation's decoding fails that operation alone. A failure other than
/// the store's own `Error` is wrapped in one that names the store and the key (`key()` is
/// called only then) and says what the decoder threw; the decoder's exception is nested in it
/// (`std::rethrow_if_nested`).
template <class Error, class Key>
std::exception_ptr wrapped_decoder_failure(std::string_view store, Key& key, char const* what) {
    try { // inside the handler of the decoder's exception, which is nested
        std::throw_with_nested(
            Error(std::string(store) + ": decoding the value at key '" + std::string(key()) + "' failed: " + what));
    } catch (...) {
        return std::current_exception();
    }
}

template <class R, class Error, class Key, class Make>
outcome<R> decoded(std::string_view store, Key&& key, Make&& make) {
    try {
        return R(make());
    } catch (Error const&) {
        return std::current_exception();
    } catch (std::exception const& e) {
        return wrapped_decoder_failure<Error>(store, key, e.what());
    } catch (...) {
        return wrapped_decoder_failure<Error>(store, key, "an exception not derived from std::exception");
    }
}

/// The result of an operation whose key holds nothing: `std::nullopt` where its result is a
/// `std::optional`, else a failure with the store's `NotFound` error, naming the key.
template <class R, class NotFound>
outcome<R> missing(std::string const& store, std::string const& what, std::string const& key) {
    if constexpr (batch::detail::is_optional_v<R>) {
        return R(std::nullopt);
    } else {
        return std::make_exception_ptr(NotFound(store + ": " + what + " '" + key + "'"));
    }
}

} // namespace batch::stores::detail
