#pragma once

#include <batch/detail/base/clock.hpp>
#include <batch/observer.hpp>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace batch {

/// An observer that records what runs did and writes it as Chrome trace-event JSON, the format
/// that Perfetto (ui.perfetto.dev) and chrome://tracing open. Runs and rounds are spans on
/// tracks of their own; each batcher call is a span on the track of its operation type (and
/// batcher, when it has a `name()`), with its size, key, deduplicated operations and outcome in
/// its arguments; batches that overlap (the asynchronous batches of a round, or chunks of one
/// type) land on separate tracks, so they show side by side. Attach it with
/// `batch::with_observer(std::ref(trace))` and call `save` when done.
class trace_writer {
public:
    trace_writer() = default;

    void on_run_end(run_event const& e) {
        span s{kind::run, run_track, e.begin, e.end};
        if (e.stats) {
            s.first = e.stats->rounds;
            s.second = e.stats->batches;
        }
        s.error = e.error;
        spans_.push_back(std::move(s));
    }

    void on_round_end(round_event const& e) {
        span s{kind::round, round_track, e.begin, e.end};
        s.round = e.round;
        s.first = e.batches;
        s.second = e.cache_hits;
        spans_.push_back(std::move(s));
    }

    void on_batch(batch_event const& e) {
        std::size_t const type = track_of(e.operation, e.batcher);
        span s{kind::batch, lane_for(type, e.submitted, e.completed), e.submitted, e.completed};
        s.type = type;
        s.round = e.round;
        s.first = e.size;
        s.second = e.deduplicated;
        s.failed = e.failed;
        s.asynchronous = e.asynchronous;
        s.error = e.error;
        s.key = e.key;
        spans_.push_back(std::move(s));
    }

    /// Spans recorded so far.
    [[nodiscard]] std::size_t size() const noexcept { return spans_.size(); }

    /// Forgets everything recorded.
    void clear() {
        spans_.clear();
        types_.clear();
        lanes_ = 0;
    }

    /// Writes the trace: `{"displayTimeUnit": "ms", "traceEvents": [...]}`, times in
    /// microseconds from the first span.
    void write(std::ostream& out) const {
        clock::time_point origin = clock::time_point::max();
        for (auto const& s : spans_) origin = std::min(origin, s.begin);
        out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[";
        bool first = true;
        auto const next = [&] {
            if (!first) out << ",\n";
            first = false;
        };
        auto const name_track = [&](int tid, std::string const& name) {
            next();
            out << "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" << tid
                << ",\"args\":{\"name\":" << quoted(name) << "}}";
            next();
            out << "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":" << tid
                << ",\"args\":{\"sort_index\":" << tid << "}}";
        };
        name_track(run_track, "runs");
        name_track(round_track, "rounds");
        for (auto const& t : types_) {
            std::string const name = t.batcher.empty() ? t.operation : t.operation + " (" + t.batcher + ")";
            for (std::size_t lane = 0; lane < t.lanes.size(); ++lane)
                name_track(t.lanes[lane].tid, lane == 0 ? name : name + " #" + std::to_string(lane + 1));
        }
        std::size_t runs = 0;
        for (auto const& s : spans_) {
            next();
            out << "{\"name\":";
            switch (s.what) {
            case kind::run:
                out << "\"run " << ++runs << "\",\"cat\":\"run\"";
                break;
            case kind::round:
                out << "\"round " << s.round << "\",\"cat\":\"round\"";
                break;
            case kind::batch:
                out << quoted(short_name(types_[s.type].operation)) << ",\"cat\":\"batch\"";
                break;
            }
            out << ",\"ph\":\"X\",\"pid\":1,\"tid\":" << s.track << ",\"ts\":" << micros(s.begin - origin)
                << ",\"dur\":" << micros(s.end - s.begin) << ",\"args\":{";
            switch (s.what) {
            case kind::run:
                out << "\"rounds\":" << s.first << ",\"batches\":" << s.second
                    << ",\"outcome\":" << quoted(outcome_of(s.error, 0, 0));
                break;
            case kind::round:
                out << "\"batches\":" << s.first << ",\"cache_hits\":" << s.second;
                break;
            case kind::batch:
                out << "\"size\":" << s.first << ",\"round\":" << s.round << ",\"deduplicated\":" << s.second
                    << ",\"asynchronous\":" << (s.asynchronous ? "true" : "false")
                    << ",\"outcome\":" << quoted(outcome_of(s.error, s.failed, s.first));
                if (s.key) out << ",\"key\":" << quoted(*s.key);
                break;
            }
            out << "}}";
        }
        out << "]}\n";
    }

    /// Writes the trace to the file `path`; throws `std::runtime_error` if it cannot.
    void save(std::string const& path) const {
        std::ostringstream text; // not an ofstream: <fstream> would cost every includer compile time
        write(text);
        std::string const bytes = text.str();
        std::FILE* const file = std::fopen(path.c_str(), "wb");
        if (!file) throw std::runtime_error("batch::trace_writer: cannot write " + path);
        bool const written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
        if (std::fclose(file) != 0 || !written) throw std::runtime_error("batch::trace_writer: cannot write " + path);
    }

private:
    static constexpr int run_track = 1;
    static constexpr int round_track = 2;

    enum class kind : unsigned char { run, round, batch };

    // What was recorded, as numbers: the text is written out by `write` alone, so recording a
    // batch costs a few stores (and a copy of its key, if it has one).
    struct span {
        span(kind w, int t, clock::time_point b, clock::time_point e) : what(w), track(t), begin(b), end(e) {}

        kind what;
        int track;
        clock::time_point begin;
        clock::time_point end;
        std::size_t type = 0;   // a batch's entry in types_
        std::size_t round = 0;  // a round's or batch's round
        std::size_t first = 0;  // rounds of a run, batches of a round, size of a batch
        std::size_t second = 0; // batches of a run, cache hits of a round, deduplicated of a batch
        std::size_t failed = 0;
        bool asynchronous = false;
        std::exception_ptr error;
        std::optional<std::string> key;
    };

    struct lane {
        int tid;
        clock::time_point free_from;
    };

    // An operation type (with its batcher's name) and the lanes its batches have used.
    struct type_track {
        std::string operation;
        std::string batcher;
        std::vector<lane> lanes;
    };

    std::size_t track_of(std::string_view operation, std::string_view batcher) {
        for (std::size_t i = 0; i < types_.size(); ++i)
            if (types_[i].operation == operation && types_[i].batcher == batcher) return i;
        types_.push_back({std::string(operation), std::string(batcher), {}});
        return types_.size() - 1;
    }

    // The track of a batch: the first lane of its type that is free when it starts, or a new one.
    int lane_for(std::size_t type, clock::time_point begin, clock::time_point end) {
        auto& lanes = types_[type].lanes;
        std::size_t lane = 0;
        while (lane < lanes.size() && lanes[lane].free_from > begin) ++lane;
        if (lane == lanes.size()) {
            lanes.push_back({10 + lanes_++, end});
        } else {
            lanes[lane].free_from = end;
        }
        return lanes[lane].tid;
    }

    static std::string outcome_of(std::exception_ptr const& error, std::size_t failed, std::size_t size) {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (std::exception const& e) {
                return std::string("failed: ") + e.what();
            } catch (...) {
                return "failed";
            }
        }
        if (failed) return std::to_string(failed) + " of " + std::to_string(size) + " failed";
        return "ok";
    }

    // "demo::get_name" -> "get_name", for span names; tracks keep the full name.
    static std::string_view short_name(std::string_view type) {
        auto const colon = type.rfind("::");
        return colon == std::string_view::npos ? type : type.substr(colon + 2);
    }

    static std::string micros(clock::duration d) {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%.3f", std::chrono::duration<double, std::micro>(d).count());
        return buffer;
    }

    static std::string quoted(std::string_view text) {
        std::string out = "\"";
        for (char c : text) {
            switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
                    out += escaped;
                } else {
                    out += c;
                }
            }
        }
        return out + "\"";
    }

    std::vector<span> spans_;
    std::vector<type_track> types_;
    int lanes_ = 0;
};

} // namespace batch
