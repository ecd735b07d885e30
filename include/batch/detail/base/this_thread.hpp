#pragma once

namespace batch::detail {

/// One per thread: its address tells threads apart.
inline thread_local char const this_thread_mark = 0;

/// The calling thread, as an address that no other thread alive at the same time has (cheaper to
/// get and to include than `std::this_thread::get_id()`); null means no thread.
[[nodiscard]] inline void const* this_thread() noexcept { return &this_thread_mark; }

} // namespace batch::detail
