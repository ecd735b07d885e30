#pragma once

// PostgreSQL batchers over libpq (target batch::postgres): key lookups, one query per batch,
// pipelined on one non-blocking connection, as asynchronous batchers. The connection and the
// store's errors are in postgres/connection.hpp, a row as a decoder reads it in postgres/row.hpp,
// the batchers in postgres/batchers.hpp.

#include <batch/stores/postgres/batchers.hpp>
#include <batch/stores/postgres/connection.hpp>
#include <batch/stores/postgres/row.hpp>
