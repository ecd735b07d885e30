#pragma once

// Redis batchers over hiredis (target batch::redis): MGET for string values, and any command per
// operation (HGETALL, say) pipelined, on one non-blocking connection, as asynchronous batchers.
// The connection and the store's errors are in redis/connection.hpp, a reply as a decoder reads
// it in redis/reply.hpp, the batchers in redis/batchers.hpp.

#include <batch/stores/redis/batchers.hpp>
#include <batch/stores/redis/connection.hpp>
#include <batch/stores/redis/reply.hpp>
