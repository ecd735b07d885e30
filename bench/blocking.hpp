#pragma once

// Turns an asynchronous batcher into a plain one that blocks: it submits the batch and polls
// until it is done. What a store client without asynchronous batchers does, for comparison.

#include <batch/batch.hpp>

#include <poll.h>

#include <cerrno>
#include <span>
#include <system_error>
#include <utility>

namespace bench {

template <class Async>
class blocking {
public:
    explicit blocking(Async batcher) : batcher_(std::move(batcher)) {}

    template <class Op>
    requires batch::async_batcher_for<Async const, Op>
    auto operator()(std::span<Op const> in) const {
        auto batch = batcher_.submit(in);
        while (!batch.done()) {
            auto const want = batch.interest();
            pollfd p{want.fd, want.events, 0};
            if (::poll(&p, 1, -1) < 0 && errno != EINTR)
                throw std::system_error(errno, std::generic_category(), "poll");
            batch.advance(p.revents);
        }
        return batch.results();
    }

private:
    Async batcher_;
};

} // namespace bench
