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
};

/// The descriptors of one io_context (an Asio service: `descriptors::of(executor)`). Each is
/// registered once per socket: a descriptor number that a batcher closed and opened again is a
/// different socket (told apart by `io_interest::connection` where the batcher names its
/// connection, else by `fstat`), registered anew. At most one wait per descriptor and direction
/// is outstanding, whatever the number of watchers; when it completes, every watcher listed for
/// it is notified. Asio's registration is edge-triggered, so `watch` also asks `poll(2)` whether
/// a descriptor is ready already where it may be (a batcher may have left data unread; see
/// `entry::maybe_ready`): what the watchers see is level-triggered, as the `async_batcher`
/// contract says. A watcher may be notified when another party that shares the connection has
/// read its data already; the batchers read without blocking, so that costs one empty read, and
/// none for a batch found done. And a party that reads a shared connection may file the answers
/// that others wait for (`batch::answers_filed`): no readiness of the descriptor tells them, so
/// `wake_others` does. The waits themselves do not keep `io_context::run` going (they outlast
/// their watchers); a watcher listed anywhere does.
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
    /// ready already is notified at once.
    void watch(watcher& w, std::span<io_interest const> interests, std::uint64_t generation,
               std::shared_ptr<void> const& keep_alive) {
        thread_local std::vector<pollfd> polled;
        polled.clear();
        {
            std::lock_guard lock(mutex_);
            for (io_interest const& i : interests) {
                if (short const unsure = list(w, i, generation, keep_alive)) polled.push_back({i.fd, unsure, 0});
            }
        }
        // Level: what may be ready now (asked after the waits are outstanding, so that nothing
        // that becomes ready in between is missed).
        if (polled.empty() || ::poll(polled.data(), polled.size(), 0) < 0) return;
        std::vector<listing> woken; // released outside the lock
        std::lock_guard lock(mutex_);
        for (pollfd const& p : polled) {
            entry* e = find(p.fd);
            if (!e) continue;
            for (int d = 0; d < 2; ++d) {
                if (p.events & event_of[d]) e->maybe_ready[d] = (p.revents & (event_of[d] | POLLERR | POLLHUP)) != 0;
            }
            if (p.revents) wake(p.fd, p.revents, woken);
        }
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
                std::erase_if(waiting, [&](listing& l) {
                    if (l.w != &w) return false;
                    dropped.push_back(std::move(l.keep_alive));
                    --w.listings_;
                    return true;
                });
            }
        }
        w.listed_.clear();
        unlisted(dropped.size());
    }

    /// Does `f` (a step of `self`'s runs), then wakes the other watchers whose answers it filed
    /// on a connection they share (`batch::answers_filed`).
    template <class F>
    void filing(watcher const& self, F&& f) {
        batch::detail::filed_descriptors filed;
        try {
            batch::detail::filing_scope scope(filed);
            std::forward<F>(f)();
        } catch (...) {
            wake_others(self, filed); // what was filed before the failure is not lost
            throw;
        }
        wake_others(self, filed);
    }

    /// `self` has filed answers on the connections of `filed` (noted while it stepped): every
    /// other watcher listed on those descriptors is notified, to find its answer filed.
    void wake_others(watcher const& self, batch::detail::filed_descriptors const& filed) {
        if (filed.count == 0 && !filed.all) return;
        std::vector<listing> woken; // released outside the lock
        std::lock_guard lock(mutex_);
        auto const wake_at = [&](int fd) { wake(fd, POLLIN, woken, &self); };
        if (filed.all) {
            for (std::size_t fd = 0; fd < entries_.size(); ++fd) wake_at(static_cast<int>(fd));
        } else {
            for (std::size_t i = 0; i < filed.count; ++i) wake_at(filed.fds[i]);
        }
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
        std::shared_ptr<void> keep_alive;
    };

    struct entry {
        dev_t device = 0;
        ino_t inode = 0;
        std::uint64_t connection = 0; ///< Its `io_interest::connection`, if one was given.
        std::uint64_t serial = 0;     ///< Which registration of the number this is.
        std::unique_ptr<asio::posix::stream_descriptor> socket;
        std::vector<listing> waiting[2]; ///< For reading, and for writing.
        bool outstanding[2] = {false, false};
        // Whether the descriptor may be ready without an edge to come (data that a reader left,
        // or was there before the wait): until `poll(2)` says otherwise, every listing asks it.
        // An outstanding wait started after a `poll(2)` that found nothing hears of whatever
        // comes later, unless a reader takes it first, and that reader files what it read
        // (`batch::answers_filed`) or leaves the rest there, which epoll reports.
        bool maybe_ready[2] = {true, true};
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

    // Lists `w` under `i`; returns the events to ask `poll(2)` for (none: an outstanding wait
    // will hear of them).
    short list(watcher& w, io_interest const& i, std::uint64_t generation, std::shared_ptr<void> const& keep_alive) {
        if (i.fd < 0) {
            w.notify_(i.fd, POLLNVAL, generation); // the batcher finds out what is wrong
            return 0;
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
                return 0;
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
                e.maybe_ready[0] = e.maybe_ready[1] = true;
                ++registrations_;
            }
            e.connection = i.connection;
        }
        // Listed here before (and maybe still): its listing is replaced, else one is added.
        bool const relisted = std::find(w.listed_.begin(), w.listed_.end(), i.fd) != w.listed_.end();
        if (!relisted) w.listed_.push_back(i.fd);
        short unsure = 0;
        for (int d = 0; d < 2; ++d) {
            if (!(i.events & event_of[d])) continue;
            auto& waiting = e.waiting[d];
            auto it = relisted
                          ? std::find_if(waiting.begin(), waiting.end(), [&](listing const& l) { return l.w == &w; })
                          : waiting.end();
            if (it != waiting.end()) {
                it->generation = generation;
                it->keep_alive = keep_alive;
            } else {
                waiting.push_back({&w, generation, keep_alive});
                ++w.listings_;
                if (listings_++ == 0) busy_.emplace(io_->get_executor());
            }
            if (e.maybe_ready[d]) unsure = static_cast<short>(unsure | event_of[d]);
            if (!e.outstanding[d]) {
                unsure = static_cast<short>(unsure | event_of[d]);
                e.outstanding[d] = true;
                e.socket->async_wait(d == 0 ? asio::posix::stream_descriptor::wait_read
                                            : asio::posix::stream_descriptor::wait_write,
                                     [this, fd = i.fd, d, serial = e.serial](boost::system::error_code const& ec) {
                                         io_->get_executor().on_work_started(); // see below
                                         fired(fd, d, serial, ec);
                                     });
                // The wait counts as no work of the io_context (a listed watcher does, `busy_`):
                // its handler gives back what the io_context takes away when it returns.
                io_->get_executor().on_work_finished();
            }
        }
        return unsure;
    }

    void fired(int fd, int d, std::uint64_t serial, boost::system::error_code const& ec) {
        std::vector<listing> woken;
        {
            std::lock_guard lock(mutex_);
            entry* e = find(fd);
            if (!e || e->serial != serial) return; // a socket since closed
            e->outstanding[d] = false;
            if (ec == asio::error::operation_aborted) return;
            e->maybe_ready[d] = true; // until a reader has taken it all
            wake(fd, static_cast<short>(event_of[d] | (ec ? POLLERR : 0)), woken);
        }
        // `woken`'s keep-alives go here, outside the lock.
    }

    // `fd` is ready with `revents`: every watcher listed on it (but `except`) is notified
    // (posts: work) and unlisted there. All of them, whichever events they wait for, not only
    // the one that asked: they may share a connection, and whichever reads or writes first may
    // file the others' answers too (libpq reads while it sends).
    void wake(int fd, short revents, std::vector<listing>& woken, watcher const* except = nullptr) {
        entry* e = find(fd);
        if (!e) return;
        for (int d = 0; d < 2; ++d) {
            auto& waiting = e->waiting[d];
            std::size_t const first = woken.size();
            auto const kept =
                std::partition(waiting.begin(), waiting.end(), [&](listing const& l) { return l.w == except; });
            std::move(kept, waiting.end(), std::back_inserter(woken));
            waiting.erase(kept, waiting.end());
            for (std::size_t i = first; i < woken.size(); ++i) {
                --woken[i].w->listings_;
                woken[i].w->notify_(fd, revents, woken[i].generation);
            }
            unlisted(woken.size() - first);
        }
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
