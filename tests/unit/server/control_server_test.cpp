// ControlServer over a real Unix socket in a temporary directory (no network).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "server/ControlProtocol.h"
#include "server/ControlServer.h"

namespace headwater::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A blocking test client with a receive timeout, so a broken server fails the test instead of hanging it.
class Client {
  public:
    explicit Client(const fs::path& path) : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
    }
    ~Client() { ::close(fd_); }

    bool connected() const { return connected_; }

    void send(const std::string& data) {
        std::size_t sent = 0;
        while (sent < data.size()) {
            const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return;
            sent += static_cast<std::size_t>(n);
        }
    }
    void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

    // The next line without '\n', or nullopt at end of stream / error / timeout.
    std::optional<std::string> read_line() {
        for (;;) {
            if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            char chunk[4096];
            const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
            if (n <= 0) return std::nullopt;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    json request(const json& request) {
        send(control::encode_line(request));
        const auto line = read_line();
        if (!line) return nullptr;
        return json::parse(*line);
    }

    // True when the server closed the connection (EOF or reset) rather than the read timing out.
    bool closed_by_peer() {
        char c;
        const ssize_t n = ::recv(fd_, &c, 1, 0);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }

  private:
    int fd_;
    bool connected_ = false;
    std::string buffer_;
};

json echo_handler(const json& request) {
    if (request["command"] == "throw") throw std::runtime_error("boom");
    json response = control::ok_response();
    response["echo"] = request;
    return response;
}

class ControlServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string templ = (fs::temp_directory_path() / "hw-ctl-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
        socket_ = dir_ / "run" / "ctl.sock";
        thread_ = std::thread([this] { io_.run(); });
    }

    void TearDown() override {
        if (!thread_.joinable()) return;
        on_io([this] { servers_.clear(); });
        work_.reset();
        thread_.join();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // Runs f on the io_context's thread and waits: the server is used only from there.
    template <class F>
    auto on_io(F f) -> decltype(f()) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto result = task.get_future();
        boost::asio::post(io_, [&task] { task(); });
        return result.get();
    }

    Result<ControlServer*, std::string> open(const fs::path& path,
                                             ControlServer::Handler handler = echo_handler,
                                             ControlServerOptions options = {}) {
        return on_io([&]() -> Result<ControlServer*, std::string> {
            auto server = ControlServer::open(io_, path, std::move(handler), options);
            if (!server) return unexpected(server.error());
            servers_.push_back(std::move(*server));
            return servers_.back().get();
        });
    }

    boost::asio::io_context io_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
        io_.get_executor()};
    std::thread thread_;
    std::vector<std::unique_ptr<ControlServer>> servers_;
    fs::path dir_;
    fs::path socket_;
};

TEST_F(ControlServerTest, SocketIsOwnerOnlyAndParentCreated) {
    ASSERT_TRUE(open(socket_));
    struct stat st {};
    ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(socket_.parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(ControlServerTest, RoundTrip) {
    ASSERT_TRUE(open(socket_));
    Client client(socket_);
    ASSERT_TRUE(client.connected());
    const json response = client.request(control::make_request("status", std::string("example.com."), true));
    EXPECT_EQ(response["ok"], true);
    EXPECT_EQ(response["echo"]["command"], "status");
    EXPECT_EQ(response["echo"]["zone"], "example.com.");
    EXPECT_EQ(response["echo"]["force"], true);
}

TEST_F(ControlServerTest, SeveralRequestsOnOneConnection) {
    ASSERT_TRUE(open(socket_));
    Client client(socket_);
    EXPECT_EQ(client.request(control::make_request("status"))["echo"]["command"], "status");
    EXPECT_EQ(client.request(control::make_request("reload"))["echo"]["command"], "reload");
    // Pipelined in one write, with a blank line and a CRLF in between.
    client.send("{\"command\":\"a\"}\n\n{\"command\":\"b\"}\r\n");
    EXPECT_EQ(json::parse(client.read_line().value())["echo"]["command"], "a");
    EXPECT_EQ(json::parse(client.read_line().value())["echo"]["command"], "b");
}

TEST_F(ControlServerTest, LastRequestWithoutNewlineIsAnswered) {
    ASSERT_TRUE(open(socket_));
    Client client(socket_);
    client.send("{\"command\":\"status\"}");
    client.shutdown_write();
    const auto line = client.read_line();
    ASSERT_TRUE(line);
    EXPECT_EQ(json::parse(*line)["echo"]["command"], "status");
    EXPECT_TRUE(client.closed_by_peer());
}

TEST_F(ControlServerTest, MalformedRequestsAreAnsweredAndConnectionKept) {
    ASSERT_TRUE(open(socket_));
    Client client(socket_);
    for (const char* bad :
         {"{not json", "[1,2]", "{\"zone\":\"x.\"}", "{\"command\":\"\"}",
          "{\"command\":\"status\",\"zone\":5}", "{\"command\":\"reload\",\"force\":\"yes\"}"}) {
        client.send(std::string(bad) + "\n");
        const auto line = client.read_line();
        ASSERT_TRUE(line) << bad;
        const json response = json::parse(*line);
        EXPECT_EQ(response["ok"], false) << bad;
        EXPECT_EQ(response["error"].get<std::string>().rfind("malformed request: ", 0), 0u) << *line;
    }
    EXPECT_EQ(client.request(control::make_request("status"))["ok"], true);
}

TEST_F(ControlServerTest, HandlerExceptionIsAnswered) {
    ASSERT_TRUE(open(socket_));
    Client client(socket_);
    const json response = client.request(control::make_request("throw"));
    EXPECT_EQ(response["ok"], false);
    EXPECT_EQ(response["error"], "internal error: boom");
    EXPECT_EQ(client.request(control::make_request("status"))["ok"], true);
    Client other(socket_);
    EXPECT_EQ(other.request(control::make_request("status"))["ok"], true);
}

TEST_F(ControlServerTest, LongestLineAcceptedLongerRefusedAndClosed) {
    ASSERT_TRUE(open(socket_));
    {
        const std::string head = "{\"command\":\"status\",\"pad\":\"";
        const std::string tail = "\"}";
        std::string line =
            head + std::string(control::kMaxRequestLine - head.size() - tail.size(), 'x') + tail;
        ASSERT_EQ(line.size(), control::kMaxRequestLine);
        Client client(socket_);
        client.send(line + "\n");
        const auto answer = client.read_line();
        ASSERT_TRUE(answer);
        EXPECT_EQ(json::parse(*answer)["ok"], true);
    }
    Client client(socket_);
    client.send(std::string(control::kMaxRequestLine + 100, 'x'));
    const auto answer = client.read_line();
    ASSERT_TRUE(answer);
    const json response = json::parse(*answer);
    EXPECT_EQ(response["ok"], false);
    EXPECT_NE(response["error"].get<std::string>().find("malformed request: line longer than"),
              std::string::npos);
    EXPECT_TRUE(client.closed_by_peer());
    // The server is still there.
    Client next(socket_);
    EXPECT_EQ(next.request(control::make_request("status"))["ok"], true);
}

TEST_F(ControlServerTest, StaleSocketFileIsReplaced) {
    fs::create_directories(socket_.parent_path());
    {
        // A socket file whose server went away without removing it.
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket_.c_str(), sizeof(addr.sun_path) - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
        ::close(fd);
        ASSERT_TRUE(fs::is_socket(socket_));
    }
    auto server = open(socket_);
    ASSERT_TRUE(server) << server.error();
    Client client(socket_);
    EXPECT_EQ(client.request(control::make_request("status"))["ok"], true);
}

TEST_F(ControlServerTest, SecondServerOnLivePathIsRefused) {
    ASSERT_TRUE(open(socket_));
    const auto second = open(socket_);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error(), "another headwater is already listening on " + socket_.string());
    // The first one still answers.
    Client client(socket_);
    EXPECT_EQ(client.request(control::make_request("status"))["ok"], true);
}

TEST_F(ControlServerTest, NonSocketFileIsNotReplaced) {
    fs::create_directories(socket_.parent_path());
    std::ofstream(socket_) << "precious";
    const auto server = open(socket_);
    ASSERT_FALSE(server);
    EXPECT_NE(server.error().find("is not a socket"), std::string::npos);
    EXPECT_TRUE(fs::is_regular_file(socket_));
}

TEST_F(ControlServerTest, TooLongPathIsAnError) {
    const auto server = open(dir_ / std::string(120, 'a'));
    ASSERT_FALSE(server);
    EXPECT_NE(server.error().find("too long"), std::string::npos);
}

TEST_F(ControlServerTest, IdleConnectionIsClosed) {
    ControlServerOptions options;
    options.idle_timeout = std::chrono::milliseconds(100);
    ASSERT_TRUE(open(socket_, echo_handler, options));
    Client client(socket_);
    EXPECT_EQ(client.request(control::make_request("status"))["ok"], true);
    EXPECT_TRUE(client.closed_by_peer());
}

TEST_F(ControlServerTest, OffloadedCommandDoesNotHoldUpOthers) {
    // "slow" waits until a later "status" on another connection has been answered: it can only finish
    // when it runs off the io_context's thread.
    std::promise<void> status_answered;
    auto answered = status_answered.get_future().share();
    ControlServerOptions options;
    options.offloaded_commands = {"slow"};
    ASSERT_TRUE(open(
        socket_,
        [answered](const json& request) {
            if (request["command"] == "slow") {
                const bool in_time = answered.wait_for(std::chrono::seconds(3)) == std::future_status::ready;
                json r = control::ok_response();
                r["others_went_on"] = in_time;
                return r;
            }
            return echo_handler(request);
        },
        options));
    Client slow(socket_);
    slow.send(control::encode_line(control::make_request("slow")));
    Client other(socket_);
    EXPECT_EQ(other.request(control::make_request("status"))["ok"], true);
    status_answered.set_value();
    const auto line = slow.read_line();
    ASSERT_TRUE(line);
    EXPECT_EQ(json::parse(*line)["others_went_on"], true);
    // The connection stays usable after an offloaded command.
    EXPECT_EQ(slow.request(control::make_request("status"))["ok"], true);
}

TEST_F(ControlServerTest, StopClosesConnectionsAndDestructorRemovesSocket) {
    auto server = open(socket_);
    ASSERT_TRUE(server);
    Client client(socket_);
    EXPECT_EQ(client.request(control::make_request("status"))["ok"], true);
    on_io([&] { (*server)->stop(); });
    EXPECT_TRUE(client.closed_by_peer());
    EXPECT_FALSE(Client(socket_).connected());
    on_io([this] { servers_.clear(); });
    EXPECT_FALSE(fs::exists(socket_));
}

TEST_F(ControlServerTest, DestructorLeavesAnotherServersSocketAlone) {
    auto first = open(socket_);
    ASSERT_TRUE(first);
    on_io([&] { (*first)->stop(); });
    // A new server takes over the (now stale) path; destroying the old one must not remove its socket.
    ASSERT_TRUE(open(socket_));
    on_io([this] { servers_.erase(servers_.begin()); });
    Client client(socket_);
    EXPECT_EQ(client.request(control::make_request("status"))["ok"], true);
}

TEST(ControlProtocolTest, ParseRequest) {
    const auto request =
        control::parse_request(json::parse(R"({"command":"reload","zone":"a.","force":true,"x":1})"));
    ASSERT_TRUE(request);
    EXPECT_EQ(request->command, "reload");
    EXPECT_EQ(request->zone, "a.");
    EXPECT_TRUE(request->force);
    const auto plain = control::parse_request(json::parse(R"({"command":"status","zone":null})"));
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->zone);
    EXPECT_FALSE(plain->force);
    EXPECT_FALSE(control::parse_request(json::parse("\"status\"")));
}

TEST(ControlProtocolTest, EncodeLineNeverThrows) {
    const std::string line = control::encode_line(control::error_response("bad \xff byte"));
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    EXPECT_FALSE(control::is_ok(json::parse(line)));
    EXPECT_TRUE(control::is_ok(control::ok_response()));
    EXPECT_FALSE(control::is_ok(json{{"ok", "true"}}));
}

}  // namespace
}  // namespace headwater::server
