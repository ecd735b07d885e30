#pragma once

// What serving many requests at once (`batch::asio::loop`) puts between a request's executor
// and the loop's shared batches: a ticket per submitted part of a request's round, and the
// forwarder, the asynchronous batcher each request's executor is built with, which hands its
// operations to the loop instead of a store.

#include <batch/async_batcher.hpp>
#include <batch/operation.hpp>
#include <batch/outcome.hpp>

#include <exception>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace batch::detail::serve {

/// What a ticket's completion wakes: the slot of the request that waits on it.
class wakeable {
public:
    virtual void wake() noexcept = 0;

protected:
    ~wakeable() = default;
};

/// The operations one request's executor submitted in one batch, as the loop sees them until
/// the shared batch that carries them has answered. Shared by the request's pending batch and
/// the loop: whichever lets go last frees it.
template <class Op>
struct ticket {
    using outcome_type = outcome<result_of_t<Op>>;

    std::vector<outcome_type> results; ///< Parallel to the submitted operations, once done.
    std::exception_ptr failure;        ///< The whole ticket failed (its shared batch could not be sent).
    wakeable* owner = nullptr;         ///< Null once the request gave the batch up: nothing to deliver.
    bool done = false;

    /// The answer is in: the request resumes on the loop's next turn.
    void finish() noexcept {
        done = true;
        if (owner) owner->wake();
    }

    /// Fails the whole ticket with `e`.
    void fail(std::exception_ptr e) noexcept {
        failure = std::move(e);
        finish();
    }
};

/// The asynchronous batcher for `Op` of every request's executor on a loop: `submit` enqueues
/// the operations on the loop's hub for `Op` (`Hub::enqueue(ops, ticket)`), and the pending
/// batch is done when the hub's shared batch has answered. A pending batch waits on no
/// descriptor of its own: the loop wakes its request.
template <class Op, class Hub>
class forwarder {
public:
    class pending {
    public:
        /// Waits on no descriptor: the loop completes it (see `completed_elsewhere`).
        static constexpr bool completed_elsewhere = true;

        explicit pending(std::shared_ptr<ticket<Op>> t) noexcept : ticket_(std::move(t)) {}
        pending(pending&& other) noexcept = default;
        pending& operator=(pending&& other) noexcept {
            if (this != &other) {
                give_up();
                ticket_ = std::move(other.ticket_);
            }
            return *this;
        }
        ~pending() { give_up(); }

        [[nodiscard]] io_interest interest() const noexcept { return {}; }
        void advance(short) noexcept {}
        [[nodiscard]] bool done() const noexcept { return ticket_->done; }

        std::vector<typename ticket<Op>::outcome_type> results() {
            if (ticket_->failure) std::rethrow_exception(ticket_->failure);
            return std::move(ticket_->results);
        }

        /// The request will not wait for the answer: the loop drops its operations if they
        /// were not sent yet, and its results if they were.
        void cancel() noexcept { give_up(); }

    private:
        void give_up() noexcept {
            if (ticket_ && !ticket_->done) ticket_->owner = nullptr;
        }

        std::shared_ptr<ticket<Op>> ticket_;
    };

    forwarder(Hub& hub, wakeable& owner) noexcept : hub_(&hub), owner_(&owner) {}

    pending submit(std::span<Op const> ops) const {
        auto t = std::make_shared<ticket<Op>>();
        t->owner = owner_;
        hub_->enqueue(ops, t);
        return pending(std::move(t));
    }

private:
    Hub* hub_;
    wakeable* owner_;
};

} // namespace batch::detail::serve
