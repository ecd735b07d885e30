#pragma once

/// The umbrella header: everything a user of the library needs.

#include <batch/active_run.hpp>
#include <batch/async_batcher.hpp>
#include <batch/batcher.hpp>
#include <batch/cache.hpp>
#include <batch/error.hpp>
#include <batch/executor.hpp>
#include <batch/gen.hpp>
#include <batch/memo.hpp>
#include <batch/observer.hpp>
#include <batch/operation.hpp>
#include <batch/operation_set.hpp>
#include <batch/outcome.hpp>
#include <batch/settle.hpp>
#include <batch/shared.hpp>
#include <batch/stats.hpp>
#include <batch/trace.hpp>
#include <batch/unit.hpp>
