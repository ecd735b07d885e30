#pragma once

// A Redis reply, as a command batcher's decoder reads it.

#include <hiredis/hiredis.h>

#include <cstddef>
#include <string_view>

namespace batch::redis {

/// One reply from Redis, as hiredis reads it.
class reply {
public:
    explicit reply(redisReply const* r) noexcept : r_(r) {}

    [[nodiscard]] bool is_nil() const noexcept { return r_->type == REDIS_REPLY_NIL; }
    [[nodiscard]] bool is_error() const noexcept { return r_->type == REDIS_REPLY_ERROR; }
    [[nodiscard]] bool is_array() const noexcept { return r_->type == REDIS_REPLY_ARRAY; }
    [[nodiscard]] bool is_integer() const noexcept { return r_->type == REDIS_REPLY_INTEGER; }
    /// The text of a string, status or error reply.
    [[nodiscard]] std::string_view text() const noexcept {
        return r_->str ? std::string_view(r_->str, r_->len) : std::string_view();
    }
    [[nodiscard]] long long integer() const noexcept { return r_->integer; }
    [[nodiscard]] std::size_t size() const noexcept { return is_array() ? r_->elements : 0; }
    [[nodiscard]] reply operator[](std::size_t i) const noexcept { return reply(r_->element[i]); }

private:
    redisReply const* r_;
};

} // namespace batch::redis
