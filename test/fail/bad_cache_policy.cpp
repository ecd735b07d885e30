// expect: batch: the cache_policy of this operation .* must have a member template cache<Op, Entry>
#include "common.hpp"

#include <map>

/// A cache without erase.
template <class Op, class Entry>
struct forgetful_map {
    std::map<int, Entry> entries;
    Entry const* find(Op const& op) const {
        auto const it = entries.find(op.id);
        return it == entries.end() ? nullptr : &it->second;
    }
    void insert_or_assign(Op const& op, Entry e) { entries.insert_or_assign(op.id, std::move(e)); }
#ifndef BATCH_COMPILE_FAIL
    bool erase(Op const& op) { return entries.erase(op.id) != 0; }
#endif
    void clear() { entries.clear(); }
};
struct forgetful {
    template <class Op, class Entry>
    using cache = forgetful_map<Op, Entry>;
};

struct lookup {
    int id;
    using result_type = int;
    using cache_policy = forgetful;
    bool operator==(lookup const&) const = default;
};
template <>
struct std::hash<lookup> : hash_by_id<lookup> {};

int lookup_one() { return run_alone(lookup{1}); }
