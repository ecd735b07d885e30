// expect: batch: batch::gen<T, Ops> cannot produce a reference; return a value or a pointer
#include "common.hpp"

#include <string>

std::string const greeting = "hello";

#ifdef BATCH_COMPILE_FAIL
batch::gen<std::string const&, ops> greet() {
#else
batch::gen<std::string, ops> greet() {
#endif
    co_yield get{1};
    co_return greeting;
}
