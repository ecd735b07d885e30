#pragma once

// The clocks and durations of <chrono> (steady_clock, duration, time_point, duration_cast,
// ceil), for every header of the core. libstdc++ keeps them in <bits/chrono.h>, apart from the
// calendars, time zones and formatting that make <chrono> itself cost each translation unit
// about a tenth of a second to compile; elsewhere, <chrono>.
#include <version>

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>
#else
#include <chrono>
#endif
