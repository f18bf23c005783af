#include "server/ControlServer.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "server/ControlProtocol.h"
#include "zone/base/ErrnoText.h"

namespace headwater::server {

namespace asio = boost::asio;
using Protocol = asio::local::stream_protocol;
using boost::system::error_code;

namespace {

// Control answers at least this large are followed by a malloc_trim (see serve()).
constexpr std::size_t kTrimAfter = 1u << 20;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
// After a failed accept (EMFILE and the like), wait before trying again instead of spinning.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
// What is read and dropped after a line too long to answer, before the connection is closed anyway.
constexpr std::size_t kMaxDiscard = std::size_t{1} << 20;

struct Connection {
    explicit Connection(Protocol::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}

    void close() {
        error_code ignored;
        socket.close(ignored);
        timer.cancel();
    }

    Protocol::socket socket;
    asio::steady_timer timer;  // bounds each read and each write
};

// What answers on an existing socket file: a live server, nobody (a stale file), or nothing is there.
enum class Probe { Live, Stale, Gone };

Probe probe_socket(const std::filesystem::path& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Probe::Live;  // cannot tell: do not remove what may be another server's socket
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    const int err = rc == 0 ? 0 : errno;
    ::close(fd);
    // EAGAIN: the listener's backlog is full, so it is alive.
    if (err == ECONNREFUSED) return Probe::Stale;
    if (err == ENOENT) return Probe::Gone;
    return Probe::Live;
}

}  // namespace

// Offloaded commands still running; the server's destructor waits for them (their handler refers to
// objects the caller destroys after the server).
struct Offloads {
    std::mutex mutex;
    std::condition_variable idle;
    std::size_t running = 0;
};

struct ControlServer::State {
    State(asio::io_context& io, Handler h, ControlServerOptions o)
        : acceptor(io), handler(std::move(h)), options(std::move(o)) {}

    std::shared_ptr<Offloads> offloads = std::make_shared<Offloads>();

    Protocol::acceptor acceptor;
    Handler handler;
    ControlServerOptions options;
    std::unordered_set<std::shared_ptr<Connection>> connections;
    bool stopped = false;
    dev_t socket_dev = 0;  // identity of the socket file we bound, so we never remove someone else's
    ino_t socket_ino = 0;
};

namespace {

using State = ControlServer::State;

// Closes the socket when the deadline passes. The expiry check makes a stale completion (the timer fired
// just before being re-armed) harmless.
void arm_timer(const std::shared_ptr<Connection>& conn, std::chrono::milliseconds timeout) {
    conn->timer.expires_after(timeout);
    conn->timer.async_wait([weak = std::weak_ptr<Connection>(conn)](const error_code& ec) {
        if (ec) return;
        const auto c = weak.lock();
        if (!c || c->timer.expiry() > asio::steady_timer::clock_type::now()) return;
        error_code ignored;
        c->socket.close(ignored);
    });
}

// The request of a line, or the error response for it.
Result<nlohmann::json, nlohmann::json> parse_line(std::string_view line) {
    nlohmann::json request;
    try {
        request = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
        return unexpected(control::error_response(std::string("malformed request: ") + e.what()));
    }
    if (auto envelope = control::parse_request(request); !envelope) {
        return unexpected(control::error_response("malformed request: " + envelope.error()));
    }
    return request;
}

nlohmann::json answer(const ControlServer::Handler& handler, const nlohmann::json& request) {
    try {
        return handler(request);
    } catch (const std::exception& e) {
        spdlog::error("control: command {} failed: {}", request["command"].get<std::string>(), e.what());
        return control::error_response(std::string("internal error: ") + e.what());
    } catch (...) {
        spdlog::error("control: command {} failed with a non-standard exception",
                      request["command"].get<std::string>());
        return control::error_response("internal error: unknown exception");
    }
}

// No '\n' within the limit: answers, then the connection goes, since the rest of that line cannot be framed.
asio::awaitable<void> refuse_long_line(std::shared_ptr<Connection> conn, std::chrono::milliseconds timeout) {
    const std::string out = control::encode_line(control::error_response(
        "malformed request: line longer than " + std::to_string(control::kMaxRequestLine) + " bytes"));
    arm_timer(conn, timeout);
    co_await asio::async_write(conn->socket, asio::buffer(out), kAwait);
    // The client may still be sending the rest of that line. Closing with input unread resets the
    // connection, and the client could lose the answer: stop writing, then discard what still
    // comes (bounded in octets, and by the timer armed above) until the client closes.
    error_code ignored;
    conn->socket.shutdown(Protocol::socket::shutdown_send, ignored);
    std::array<char, 4096> sink{};
    for (std::size_t discarded = 0; discarded < kMaxDiscard;) {
        auto [drain_ec, got] = co_await conn->socket.async_read_some(asio::buffer(sink), kAwait);
        if (drain_ec) break;
        discarded += got;
    }
}

// A command that takes long (ControlServerOptions::offloaded_commands), answered on a thread of its own;
// this connection waits for it, the others go on.
asio::awaitable<nlohmann::json> answer_offloaded(std::shared_ptr<State> state,
                                                 std::shared_ptr<Connection> conn, nlohmann::json request) {
    auto signal = std::make_shared<asio::steady_timer>(conn->socket.get_executor(),
                                                       asio::steady_timer::time_point::max());
    auto result = std::make_shared<nlohmann::json>();
    auto offloads = state->offloads;
    {
        std::lock_guard lock(offloads->mutex);
        ++offloads->running;
    }
    std::thread([handler = state->handler, req = std::move(request), wake = signal, result,
                 offloads]() mutable {
        *result = answer(handler, req);
        // The timer belongs to the io_context's thread: cancel (and release) it there, never here,
        // where the io_context may be gone once `running` drops to 0.
        auto ex = wake->get_executor();
        asio::post(ex, [wake = std::move(wake)] { wake->cancel(); });
        std::lock_guard lock(offloads->mutex);
        --offloads->running;
        offloads->idle.notify_all();
    }).detach();
    co_await signal->async_wait(kAwait);
    co_return std::move(*result);
}

asio::awaitable<void> serve(std::shared_ptr<State> state, std::shared_ptr<Connection> conn) {
    const auto timeout = state->options.idle_timeout;
    std::string buffer;
    for (;;) {
        arm_timer(conn, timeout);
        auto [read_ec, n] = co_await asio::async_read_until(
            conn->socket, asio::dynamic_buffer(buffer, control::kMaxRequestLine + 1), '\n', kAwait);
        conn->timer.cancel();

        std::string line;
        bool last = false;
        if (!read_ec) {
            line.assign(buffer, 0, n - 1);
            buffer.erase(0, n);
        } else if (read_ec == asio::error::not_found) {
            co_await refuse_long_line(conn, timeout);
            break;
        } else if (read_ec == asio::error::eof && !buffer.empty()) {
            // The client shut down its side after a last request without '\n': still answer it.
            line = std::move(buffer);
            buffer.clear();
            last = true;
        } else {
            break;  // end of stream, timeout (socket closed by the timer) or stop()
        }

        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) {
            if (last) break;
            continue;  // blank lines are tolerated (handy with nc)
        }

        auto request = parse_line(line);
        nlohmann::json response;
        if (!request) {
            response = request.error();
        } else if (const auto& command = (*request)["command"].get_ref<const std::string&>();
                   std::find(state->options.offloaded_commands.begin(),
                             state->options.offloaded_commands.end(),
                             command) != state->options.offloaded_commands.end()) {
            response = co_await answer_offloaded(state, conn, std::move(*request));
        } else {
            response = answer(state->handler, *request);
        }
        const std::string out = control::encode_line(response);
        if (state->stopped) break;  // the handler may have stopped the server
        arm_timer(conn, timeout);
        auto [write_ec, written] = co_await asio::async_write(conn->socket, asio::buffer(out), kAwait);
        conn->timer.cancel();
        if (out.size() >= kTrimAfter) {
            // A large answer (`status` of 100k zones: 10 MB of text, ten times that as a JSON tree) is
            // freed into the heap, which glibc would keep for the server's lifetime: hand it back.
            response = nlohmann::json();
#if defined(__GLIBC__)
            malloc_trim(0);
#endif
        }
        if (write_ec || last) break;
    }
    conn->close();
    state->connections.erase(conn);
}

void log_exception(std::string_view what, const std::exception_ptr& e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("control: {}: {}", what, ex.what());
    } catch (...) {
        spdlog::error("control: {}: unknown exception", what);
    }
}

asio::awaitable<void> accept_loop(std::shared_ptr<State> state) {
    asio::steady_timer backoff(state->acceptor.get_executor());
    while (!state->stopped) {
        auto [ec, socket] = co_await state->acceptor.async_accept(kAwait);
        if (state->stopped || ec == asio::error::operation_aborted) break;
        if (ec) {
            spdlog::warn("control: accept failed: {}", ec.message());
            backoff.expires_after(kAcceptBackoff);
            co_await backoff.async_wait(kAwait);
            continue;
        }
        if (state->connections.size() >= state->options.max_connections) {
            spdlog::warn("control: too many connections ({}), closing a new one", state->connections.size());
            error_code ignored;
            socket.close(ignored);
            continue;
        }
        auto conn = std::make_shared<Connection>(std::move(socket));
        state->connections.insert(conn);
        asio::co_spawn(state->acceptor.get_executor(), serve(state, conn),
                       [](const std::exception_ptr& e) { log_exception("connection", e); });
    }
}

// bind() on a fresh socket; mode 0600 comes from fchmod() before bind (Linux takes the file's mode from
// the socket inode), so the file is never reachable by others, not even between bind() and chmod().
error_code bind_socket(Protocol::acceptor& acceptor, const std::filesystem::path& path) {
    error_code ec;
    if (acceptor.is_open()) acceptor.close(ec);
    acceptor.open(Protocol(), ec);
    if (ec) return ec;
    (void)::fchmod(acceptor.native_handle(), S_IRUSR | S_IWUSR);
    acceptor.bind(Protocol::endpoint(path.string()), ec);
    return ec;
}

}  // namespace

Result<std::unique_ptr<ControlServer>, std::string> ControlServer::open(
    asio::io_context& io, const std::filesystem::path& socket_path, Handler handler,
    ControlServerOptions options) {
    const std::string shown = socket_path.string();
    if (shown.empty()) return unexpected(std::string("control socket path is empty"));
    if (shown.size() >= sizeof(sockaddr_un{}.sun_path)) {
        return unexpected("control socket path " + shown + " is too long (at most " +
                          std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)");
    }

    const auto parent = socket_path.parent_path();
    if (!parent.empty()) {
        std::error_code fec;
        if (!std::filesystem::exists(parent, fec)) {
            std::filesystem::create_directories(parent, fec);
            if (!fec) std::filesystem::permissions(parent, std::filesystem::perms::owner_all, fec);
            if (fec) return unexpected("cannot create directory " + parent.string() + ": " + fec.message());
        }
    }

    auto state = std::make_shared<State>(io, std::move(handler), std::move(options));
    error_code ec = bind_socket(state->acceptor, socket_path);
    if (ec == asio::error::address_in_use) {
        struct stat st {};
        if (::lstat(shown.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
            return unexpected(shown + " exists and is not a socket; refusing to replace it");
        }
        switch (probe_socket(socket_path)) {
            case Probe::Live:
                return unexpected("another headwater is already listening on " + shown);
            case Probe::Stale:
                // Left by a server that did not exit cleanly.
                spdlog::info("control: removing stale socket {}", shown);
                if (::unlink(shown.c_str()) != 0 && errno != ENOENT) {
                    return unexpected("cannot remove stale socket " + shown + ": " + errno_text(errno));
                }
                break;
            case Probe::Gone:
                break;
        }
        ec = bind_socket(state->acceptor, socket_path);
    }
    if (ec) return unexpected("cannot bind control socket " + shown + ": " + ec.message());

    // Only the owner may control the server; fchmod() before bind already did this on Linux.
    if (::chmod(shown.c_str(), S_IRUSR | S_IWUSR) != 0) {
        const int err = errno;
        ::unlink(shown.c_str());
        return unexpected("cannot set mode 0600 on " + shown + ": " + errno_text(err));
    }
    struct stat st {};
    if (::stat(shown.c_str(), &st) == 0) {
        state->socket_dev = st.st_dev;
        state->socket_ino = st.st_ino;
    }
    state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        ::unlink(shown.c_str());
        return unexpected("cannot listen on control socket " + shown + ": " + ec.message());
    }

    asio::co_spawn(io, accept_loop(state),
                   [](const std::exception_ptr& e) { log_exception("accept loop", e); });
    spdlog::info("control: listening on {}", shown);
    return std::unique_ptr<ControlServer>(new ControlServer(std::move(state), socket_path));
}

ControlServer::ControlServer(std::shared_ptr<State> state, std::filesystem::path socket_path)
    : state_(std::move(state)), socket_path_(std::move(socket_path)) {}

void ControlServer::stop() {
    if (state_->stopped) return;
    state_->stopped = true;
    error_code ignored;
    state_->acceptor.close(ignored);
    // Connection coroutines erase themselves when they end; take the set so none is erased under us.
    const auto connections = std::move(state_->connections);
    state_->connections.clear();
    for (const auto& conn : connections) conn->close();
}

ControlServer::~ControlServer() {
    try {
        stop();
        {
            std::unique_lock lock(state_->offloads->mutex);
            state_->offloads->idle.wait(lock, [&] { return state_->offloads->running == 0; });
        }
        // Remove the file only if it is still ours. Inode numbers are reused as soon as a file is deleted,
        // so a file with our inode could be a newer server's socket (after our stop()): it would answer.
        struct stat st {};
        if (::lstat(socket_path_.c_str(), &st) == 0 && st.st_dev == state_->socket_dev &&
            st.st_ino == state_->socket_ino && probe_socket(socket_path_) != Probe::Live) {
            ::unlink(socket_path_.c_str());
        }
    } catch (const std::exception& e) {
        spdlog::error("control: closing {}: {}", socket_path_.string(), e.what());
    } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw
    }
}

}  // namespace headwater::server
