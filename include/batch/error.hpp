#pragma once

#include <stdexcept>
#include <string>

namespace batch {

/// The base of every exception the library throws.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The library was used against its contract: a moved-from or finished generator was yielded,
/// `run` was called on an executor from inside one of its own runs, from a second thread while
/// one runs, or on a moved-from executor, or an executor was moved while a run held it.
class usage_error : public error {
public:
    using error::error;
};

/// A batcher broke its contract, for example by returning the wrong number of results.
class batcher_error : public error {
public:
    using error::error;
};

/// A run could not finish because generators wait on each other through a shared generator.
class cycle_error : public error {
public:
    using error::error;
};

/// An asynchronous batch did not finish within its batcher's `timeout()`.
class timeout_error : public error {
public:
    using error::error;
};

} // namespace batch
