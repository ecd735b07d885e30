#pragma once

// The operations the compile-fail cases share.

#include <batch/batch.hpp>

#include <span>
#include <vector>

struct get {
    int key;
    using result_type = int;
};
struct put {
    int key;
    using result_type = void;
};
struct elsewhere {
    int key;
    using result_type = int;
};
using ops = batch::operations<get, put>;
using other_ops = batch::operations<get, elsewhere>;

inline std::vector<int> serve_get(std::span<get const> in) { return std::vector<int>(in.size()); }
inline void serve_put(std::span<put const>) {}
inline std::vector<int> serve_elsewhere(std::span<elsewhere const> in) { return std::vector<int>(in.size()); }
