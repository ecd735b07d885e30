#pragma once

// The descriptors that runs wait for, registered with an io_context once for as long as each
// stays the same socket (not once per wait), and shared by every run that waits for them: any
// number of executors, runs or loops may send batches on one connection.

// Asio 1.18 (Boost 1.74) uses std::move without including <utility> in places; with g++ 12
// that must come first.
#include <utility>

#include <batch/async_batcher.hpp>

#include <boost/asio/detail/reactive_descriptor_service.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/query.hpp>

#include <poll.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace batch::asio::detail {

namespace asio = boost::asio;

/// One party that waits for descriptors (a run, or a loop): `notify(fd, revents, generation)`
/// is called, with the registry's lock held, when a descriptor it was listed for with
/// `generation` is ready; it must only post the work to its own executor.
class watcher {
public:
    explicit watcher(std::function<void(int, short, std::uint64_t)> notify) : notify_(std::move(notify)) {}
    watcher(watcher const&) = delete;
    watcher& operator=(watcher const&) = delete;

private:
    friend class descriptors;
    std::function<void(int, short, std::uint64_t)> notify_;
    std::vector<int> listed_;  ///< The descriptors it may be listed under (the registry's, under its lock).
    std::size_t listings_ = 0; ///< How many listings it has (the same).
    int reading_ = -1;         ///< The descriptor it was woken to read for all (the same).
};

/// The descriptors of one io_context (an Asio service: `descriptors::of(executor)`). Each is
/// registered once per socket: a descriptor number that a batcher closed and opened again is a
/// different socket (told apart by `io_interest::connection` where the batcher names its
/// connection, else by `fstat`), registered anew. At most one wait per descriptor and direction is
/// outstanding, whatever the number of watchers; when it completes, the watchers listed for it are
/// notified (all of them, or, where each names the answer it waits for, the one whose answer comes
/// first: see `wake`). Asio's registration is edge-triggered, but each wait that starts asks the
/// kernel afresh (with epoll, Asio re-arms the descriptor with `EPOLL_CTL_MOD`, which reports what
/// is ready already; the other reactors check the level), and a wait is outstanding whenever a
/// watcher is listed: data that a reader left unread is reported all the same, so what the watchers
/// see is level-triggered, as the `async_batcher` contract says. A watcher may be notified when
/// another party that shares the connection has read its data already; the batchers read without
/// blocking, so that costs one empty read, and none for a batch found done. And a party that reads
/// a shared connection may file the answers that others wait for (`batch::answers_filed`): no
/// readiness of the descriptor tells them, so `wake_others` does (only those whose answer,
/// `io_interest::answer`, was filed, where they name it). The waits themselves do not keep
/// `io_context::run` going (they outlast their watchers); a watcher listed anywhere does.
class descriptors : public asio::execution_context::service {
public:
    using key_type = descriptors;
    static inline asio::execution_context::id id;

    explicit descriptors(asio::io_context& io) : asio::execution_context::service(io), io_(&make_services_first(io)) {}

    /// The registry of the io_context of `ex` (an executor of an `io_context`, or a strand of one).
    template <class Executor>
    static descriptors& of(Executor const& ex) {
        asio::io_context& io = asio::query(ex, asio::execution::context);
        return asio::use_service<descriptors>(io);
    }

    /// Lists `w` for each of `interests` with `generation` (replacing its earlier listing under
    /// the same descriptor), and keeps `keep_alive` until it is notified or forgotten. What is
    /// ready already is notified as soon as the reactor looks.
    void watch(watcher& w, std::span<io_interest const> interests, std::uint64_t generation,
               std::shared_ptr<void> const& keep_alive) {
        std::vector<std::shared_ptr<void>> replaced; // released outside the lock
        std::lock_guard lock(mutex_);
        for (io_interest const& i : interests) list(w, i, generation, keep_alive, replaced);
    }

    /// Lists `w` nowhere any more (before it goes, or before it watches anew).
    void forget(watcher& w) {
        std::vector<std::shared_ptr<void>> dropped; // released outside the lock
        std::lock_guard lock(mutex_);
        // Woken, it is listed nowhere any more: no list of thousands of runs is searched.
        for (auto fd = w.listed_.begin(); w.listings_ != 0 && fd != w.listed_.end(); ++fd) {
            entry* e = find(*fd);
            if (!e) continue;
            for (auto& waiting : e->waiting) {
                if (waiting.remove(&w, dropped)) --w.listings_;
            }
        }
        w.listed_.clear();
        unlisted(dropped.size());
    }

    /// Does `f` (a step of `self`'s runs), then wakes the other watchers whose answers it filed
    /// on a connection they share (`batch::answers_filed`), and hands the reading on where it
    /// was woken to read for all (see `wake`).
    template <class F>
    void filing(watcher& self, F&& f) {
        batch::detail::filed_descriptors filed;
        try {
            batch::detail::filing_scope scope(filed);
            std::forward<F>(f)();
        } catch (...) {
            wake_others(self, filed); // what was filed before the failure is not lost
            hand_over(self);
            throw;
        }
        wake_others(self, filed);
        hand_over(self);
    }

    /// `self` has filed answers on the connections of `filed` (noted while it stepped): every
    /// other watcher listed on those descriptors for an answer filed (or for none named) is
    /// notified, to find its answer filed.
    void wake_others(watcher const& self, batch::detail::filed_descriptors const& filed) {
        if (filed.count == 0 && !filed.all) return;
        std::vector<listing> woken; // released outside the lock
        std::lock_guard lock(mutex_);
        if (filed.all) {
            for (std::size_t fd = 0; fd < entries_.size(); ++fd) wake(static_cast<int>(fd), POLLIN, woken, &self);
        } else {
            for (std::size_t i = 0; i < filed.count; ++i) wake(filed.fds[i], POLLIN, woken, &self, filed.through[i]);
        }
    }

    /// `self` was woken to read `fd` for every watcher listed there (`wake`), and has stepped:
    /// if the others are still listed, a wait is outstanding for them (and what `self` left
    /// unread wakes the next reader as soon as the reactor looks).
    void hand_over(watcher& self) {
        std::lock_guard lock(mutex_);
        int const fd = std::exchange(self.reading_, -1);
        entry* e = find(fd);
        if (e && !e->waiting[0].empty()) await(*e, fd, 0);
    }

    /// Registrations made (a descriptor seen for the first time, or as a new socket).
    [[nodiscard]] std::size_t registrations() const noexcept {
        std::lock_guard lock(mutex_);
        return registrations_;
    }

    void shutdown() override {
        std::vector<std::unique_ptr<entry>> gone;
        {
            std::lock_guard lock(mutex_);
            gone.swap(entries_);
            listings_ = 0;
            busy_.reset();
        }
        for (auto& e : gone) {
            if (e && e->socket) release(*e->socket);
        }
    }

private:
    // Asio's descriptor service (and the reactor) must outlive the descriptors kept here:
    // services shut down and go in the reverse order of their making, so it is made first.
    static asio::io_context& make_services_first(asio::io_context& io) {
        asio::use_service<asio::detail::reactive_descriptor_service>(io);
        return io;
    }

    struct listing {
        watcher* w;
        std::uint64_t generation;
        std::uint64_t answer; ///< The earliest answer it waits for (`io_interest::answer`), or 0.
        std::shared_ptr<void> keep_alive;
    };

    /// The listings of one descriptor and direction, the earliest answer first (a heap: a
    /// thousand runs waiting on one connection are not searched to find whom an answer wakes).
    class listing_heap {
    public:
        [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
        [[nodiscard]] listing const& first() const noexcept { return heap_.front(); }

        void add(listing l) {
            heap_.push_back(std::move(l));
            std::push_heap(heap_.begin(), heap_.end(), later);
        }

        /// Takes the listing of `w` out, if it has one (a watcher has one per descriptor and
        /// direction), and gives its keep-alive to `dropped`; returns whether it had.
        bool remove(watcher const* w, std::vector<std::shared_ptr<void>>& dropped) {
            auto const it = std::find_if(heap_.begin(), heap_.end(), [&](listing const& l) { return l.w == w; });
            if (it == heap_.end()) return false;
            dropped.push_back(std::move(it->keep_alive));
            auto const i = static_cast<std::size_t>(it - heap_.begin());
            if (i + 1 != heap_.size()) {
                heap_[i] = std::move(heap_.back());
                heap_.pop_back();
                std::push_heap(heap_.begin(), heap_.begin() + static_cast<std::ptrdiff_t>(i) + 1, later); // up
                sift_down(i);
            } else {
                heap_.pop_back();
            }
            return true;
        }

        /// Moves the first listing to `out`.
        void take_first(std::vector<listing>& out) {
            std::pop_heap(heap_.begin(), heap_.end(), later);
            out.push_back(std::move(heap_.back()));
            heap_.pop_back();
        }

        /// Moves every listing for an answer up to `through` (and every one naming none) to
        /// `out`, but those of `except`.
        void take_through(std::uint64_t through, watcher const* except, std::vector<listing>& out) {
            if (through == std::numeric_limits<std::uint64_t>::max() && !except) {
                std::move(heap_.begin(), heap_.end(), std::back_inserter(out));
                heap_.clear();
                return;
            }
            std::size_t const first = out.size();
            while (!heap_.empty() && heap_.front().answer <= through) take_first(out);
            // `except`'s listing stays.
            auto const own = std::find_if(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                                          [&](listing const& l) { return l.w == except; });
            if (own != out.end()) {
                add(std::move(*own));
                out.erase(own);
            }
        }

    private:
        static bool later(listing const& a, listing const& b) noexcept { return a.answer > b.answer; }

        void sift_down(std::size_t i) noexcept {
            for (std::size_t child = 2 * i + 1; child < heap_.size(); i = child, child = 2 * i + 1) {
                if (child + 1 < heap_.size() && later(heap_[child], heap_[child + 1])) ++child;
                if (!later(heap_[i], heap_[child])) return;
                std::swap(heap_[i], heap_[child]);
            }
        }

        std::vector<listing> heap_;
    };

    struct entry {
        dev_t device = 0;
        ino_t inode = 0;
        std::uint64_t connection = 0; ///< Its `io_interest::connection`, if one was given.
        std::uint64_t serial = 0;     ///< Which registration of the number this is.
        std::unique_ptr<asio::posix::stream_descriptor> socket;
        listing_heap waiting[2]; ///< For reading, and for writing.
        bool outstanding[2] = {false, false};
    };

    static constexpr short event_of[2] = {POLLIN, POLLOUT};

    entry* find(int fd) noexcept {
        return fd >= 0 && static_cast<std::size_t>(fd) < entries_.size() ? entries_[fd].get() : nullptr;
    }

    static void release(asio::posix::stream_descriptor& d) noexcept {
        boost::system::error_code ignored;
        d.cancel(ignored);
        d.release(); // never closed: the batcher's connection owns it
    }

    // Lists `w` under `i` (its listing there before, if any, goes to `replaced`), and makes sure
    // a wait is outstanding for it.
    void list(watcher& w, io_interest const& i, std::uint64_t generation, std::shared_ptr<void> const& keep_alive,
              std::vector<std::shared_ptr<void>>& replaced) {
        if (i.fd < 0) {
            w.notify_(i.fd, POLLNVAL, generation); // the batcher finds out what is wrong
            return;
        }
        if (static_cast<std::size_t>(i.fd) >= entries_.size()) entries_.resize(static_cast<std::size_t>(i.fd) + 1);
        auto& slot = entries_[static_cast<std::size_t>(i.fd)];
        if (!slot) slot = std::make_unique<entry>();
        entry& e = *slot;
        // The same socket, named by its connection (no system call), or else by `fstat`.
        if (!e.socket || i.connection == 0 || e.connection != i.connection) {
            struct stat st {};
            if (::fstat(i.fd, &st) != 0) {
                w.notify_(i.fd, POLLNVAL, generation);
                return;
            }
            bool const renamed = i.connection != 0 && e.connection != 0 && e.connection != i.connection;
            if (!e.socket || e.device != st.st_dev || e.inode != st.st_ino || renamed) {
                // Closed and opened again under the same number (or never seen): the old socket
                // left epoll when it closed; the new one is registered. The old waits end unheard.
                if (e.socket) release(*e.socket);
                e.socket = std::make_unique<asio::posix::stream_descriptor>(*io_, i.fd);
                e.device = st.st_dev;
                e.inode = st.st_ino;
                ++e.serial;
                e.outstanding[0] = e.outstanding[1] = false;
                ++registrations_;
            }
            e.connection = i.connection;
        }
        // Listed here before (and maybe still): its listing is replaced, else one is added.
        bool const relisted = std::find(w.listed_.begin(), w.listed_.end(), i.fd) != w.listed_.end();
        if (!relisted) w.listed_.push_back(i.fd);
        for (int d = 0; d < 2; ++d) {
            if (!(i.events & event_of[d])) continue;
            auto& waiting = e.waiting[d];
            bool const replacing = relisted && waiting.remove(&w, replaced);
            waiting.add({&w, generation, i.answer, keep_alive});
            if (!replacing) {
                ++w.listings_;
                if (listings_++ == 0) busy_.emplace(io_->get_executor());
            }
            await(e, i.fd, d);
        }
    }

    // Makes sure a wait for direction `d` of `fd` is outstanding. One that starts asks the
    // kernel afresh (see above): what is ready already is reported.
    void await(entry& e, int fd, int d) {
        if (!e.outstanding[d]) {
            e.outstanding[d] = true;
            e.socket->async_wait(d == 0 ? asio::posix::stream_descriptor::wait_read
                                        : asio::posix::stream_descriptor::wait_write,
                                 [this, fd, d, serial = e.serial](boost::system::error_code const& ec) {
                                     io_->get_executor().on_work_started(); // see below
                                     fired(fd, d, serial, ec);
                                 });
            // The wait counts as no work of the io_context (a listed watcher does, `busy_`): its
            // handler gives back what the io_context takes away when it returns.
            io_->get_executor().on_work_finished();
        }
    }

    void fired(int fd, int d, std::uint64_t serial, boost::system::error_code const& ec) {
        std::vector<listing> woken;
        {
            std::lock_guard lock(mutex_);
            entry* e = find(fd);
            if (!e || e->serial != serial) return; // a socket since closed
            e->outstanding[d] = false;
            if (ec == asio::error::operation_aborted) return;
            wake(fd, static_cast<short>(event_of[d] | (ec ? POLLERR : 0)), woken);
        }
        // `woken`'s keep-alives go here, outside the lock.
    }

    // `fd` is ready with `revents`: every watcher listed on it (but `except`, and those waiting
    // for an answer after `through`) is notified (posts: work) and unlisted there. All of them,
    // whichever events they wait for, not only the one that asked: they may share a connection,
    // and whichever reads or writes first may file the others' answers too (libpq reads while it
    // sends). But where only reading is ready and every watcher names the answer it waits for,
    // one read does for all: only the one whose answer comes first is woken (its answer is filed
    // first); it files what came, which wakes those it answered (`wake_others`), and then hands
    // the reading on (`hand_over`).
    void wake(int fd, short revents, std::vector<listing>& woken, watcher const* except = nullptr,
              std::uint64_t through = std::numeric_limits<std::uint64_t>::max()) {
        entry* e = find(fd);
        if (!e) return;
        if (revents == POLLIN && !except && one_reader(*e)) {
            e->waiting[0].take_first(woken);
            listing& l = woken.back();
            --l.w->listings_;
            l.w->reading_ = fd;
            l.w->notify_(fd, revents, l.generation);
            unlisted(1);
            return;
        }
        for (int d = 0; d < 2; ++d) {
            std::size_t const first = woken.size();
            e->waiting[d].take_through(through, except, woken);
            for (std::size_t i = first; i < woken.size(); ++i) {
                --woken[i].w->listings_;
                woken[i].w->notify_(fd, revents, woken[i].generation);
            }
            unlisted(woken.size() - first);
        }
    }

    // Whether one reader does for every watcher of `e`: some wait to read, and every one names
    // its answer (the earliest is first, and 0, none, comes before any).
    static bool one_reader(entry const& e) noexcept {
        return !e.waiting[0].empty() && e.waiting[0].first().answer != 0
               && (e.waiting[1].empty() || e.waiting[1].first().answer != 0);
    }

    // `n` listings are gone; with the last, the io_context may run out of work.
    void unlisted(std::size_t n) noexcept {
        listings_ -= n;
        if (n != 0 && listings_ == 0) busy_.reset();
    }

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<entry>> entries_; ///< By descriptor number.
    asio::io_context* io_ = nullptr;
    std::size_t listings_ = 0;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> busy_;
    std::size_t registrations_ = 0;
};

} // namespace batch::asio::detail
