#include "server/AlertService.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "conf/Values.h"
#include "server/AsioSupport.h"
#include "server/TransferLog.h"

namespace headwater::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::awaitable;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxPending = 100;        // per webhook: alerts being sent or waiting to retry
constexpr std::chrono::minutes kMaxBackoff{5};  // the doubling waits stop growing here
constexpr std::size_t kMaxAnswer = 64 * 1024;   // a webhook's answer body is read and ignored

struct Hook {
    conf::AlertConfig config;
    conf::HttpUrl url;
    std::string name;  // "alert[0] (hooks.example.net)": logs never show the URL, which may hold a secret
    std::size_t pending = 0;  // touched on the io thread only
};

bool wants(const Hook& hook, const std::string& event) {
    return std::find(hook.config.events.begin(), hook.config.events.end(), event) != hook.config.events.end();
}

http::request<http::string_body> make_request(const Hook& hook, const std::string& body) {
    http::request<http::string_body> req{http::verb::post, hook.url.target, 11};
    const bool default_port = hook.url.port == (hook.url.tls ? 443 : 80);
    const bool v6 = hook.url.host.find(':') != std::string::npos;
    const std::string host = v6 ? "[" + hook.url.host + "]" : hook.url.host;
    req.set(http::field::host, default_port ? host : host + ":" + std::to_string(hook.url.port));
    req.set(http::field::user_agent, "headwater");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::connection, "close");
    req.body() = body;
    req.prepare_payload();
    return req;
}

// Sends the request and reads the answer's status on an open stream; an error text, or nothing for 2xx.
template <class Stream>
awaitable<std::optional<std::string>> exchange(Stream& stream, http::request<http::string_body>& req) {
    if (auto [ec, n] = co_await http::async_write(stream, req, kTuple); ec) co_return "send: " + ec.message();
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxAnswer);
    if (auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple); ec)
        co_return "answer: " + ec.message();
    const unsigned status = parser.get().result_int();
    if (status < 200 || status > 299) co_return "HTTP status " + std::to_string(status);
    co_return std::nullopt;
}

// One try: resolve, connect, (TLS handshake,) POST, read the status, all under the hook's timeout.
awaitable<std::optional<std::string>> post_once(const Hook& hook, const std::string& body) {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(hook.url.host, std::to_string(hook.url.port), kTuple);
    if (rec) co_return "resolve " + hook.url.host + ": " + rec.message();
    auto req = make_request(hook, body);
    const auto timeout = std::chrono::milliseconds(hook.config.timeout_ms);
    if (!hook.url.tls) {
        beast::tcp_stream stream(executor);
        stream.expires_after(timeout);
        if (auto [ec, ep] = co_await stream.async_connect(endpoints, kTuple); ec)
            co_return "connect: " + ec.message();
        auto result = co_await exchange(stream, req);
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return result;
    }
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(executor, ctx);
    // SNI, and the certificate must name the host (RFC 6125).
    if (SSL_set_tlsext_host_name(stream.native_handle(), hook.url.host.c_str()) != 1)
        co_return std::string("TLS: cannot set the server name");
    stream.set_verify_callback(ssl::host_name_verification(hook.url.host));
    beast::get_lowest_layer(stream).expires_after(timeout);
    if (auto [ec, ep] = co_await beast::get_lowest_layer(stream).async_connect(endpoints, kTuple); ec)
        co_return "connect: " + ec.message();
    if (auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, kTuple); ec)
        co_return "TLS: " + ec.message();
    auto result = co_await exchange(stream, req);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
    (void)co_await stream.async_shutdown(kTuple);  // a peer that just closes is not an error here
    co_return result;
}

std::string text_line(const Alert& a) {
    std::string out = "headwater: " + a.event;
    if (!a.zone.empty()) out += " zone " + a.zone;
    if (!a.subject.empty()) out += " " + a.subject;
    return out + ": " + a.summary;
}

}  // namespace

std::string alert_body(const Alert& alert, const std::string& format) {
    if (format == "text") return nlohmann::json{{"text", text_line(alert)}}.dump();
    nlohmann::json body = {
        {"event", alert.event},
        {"zone", alert.zone},
        {"subject", alert.subject.empty() ? nlohmann::json(nullptr) : nlohmann::json(alert.subject)},
        {"summary", alert.summary},
        {"time", format_time_ms(alert.at)}};
    body.update(alert.details);
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct AlertService::State {
    std::vector<Hook> hooks;
    asio::io_context io{1};
    std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
    std::atomic<bool> running{false};
    std::atomic<uint64_t> delivered{0}, failed{0};

    awaitable<void> deliver(std::size_t h, std::string body, std::string what) {
        Hook& hook = hooks[h];
        auto wait = std::chrono::milliseconds(hook.config.retry_interval_ms);
        asio::steady_timer timer(io);
        for (uint32_t attempt = 0;; ++attempt) {
            auto error = co_await post_once(hook, body);
            if (!error) {
                spdlog::info("{} delivered to {} (try {})", what, hook.name, attempt + 1);
                delivered.fetch_add(1, std::memory_order_relaxed);
                break;
            }
            if (attempt >= hook.config.retries) {
                spdlog::error("{} not delivered to {}: {}; gave up after {} tries", what, hook.name, *error,
                              attempt + 1);
                failed.fetch_add(1, std::memory_order_relaxed);
                break;
            }
            spdlog::warn("{} to {} failed ({}); retrying in {} ms", what, hook.name, *error, wait.count());
            timer.expires_after(wait);
            if (auto [ec] = co_await timer.async_wait(kTuple); ec) break;
            wait = std::min<std::chrono::milliseconds>(wait * 2, kMaxBackoff);
        }
        --hook.pending;
    }
};

AlertService::AlertService(std::vector<conf::AlertConfig> hooks) : state_(std::make_shared<State>()) {
    for (std::size_t i = 0; i < hooks.size(); ++i) {
        auto url = conf::parse_http_url(hooks[i].url);
        if (!url) continue;  // the config loader checked it already
        Hook hook{std::move(hooks[i]), *url, "alert[" + std::to_string(i) + "] (" + url->host + ")"};
        state_->hooks.push_back(std::move(hook));
    }
}

AlertService::~AlertService() {
    stop();
}

void AlertService::start() {
    if (state_->thread.joinable() || state_->hooks.empty()) return;
    state_->work = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(
        state_->io.get_executor());
    state_->thread = std::thread([s = state_.get()] { s->io.run(); });
    state_->running.store(true);
}

void AlertService::stop() {
    if (!state_->thread.joinable()) return;
    state_->running.store(false);
    state_->work.reset();
    state_->io.stop();
    state_->thread.join();
}

uint64_t AlertService::delivered() const {
    return state_->delivered.load(std::memory_order_relaxed);
}

uint64_t AlertService::failed() const {
    return state_->failed.load(std::memory_order_relaxed);
}

void AlertService::send(const Alert& alert, std::size_t only_hook) {
    if (observer_) {
        for (std::size_t h = 0; h < state_->hooks.size(); ++h)
            if ((only_hook == SIZE_MAX || h == only_hook) && wants(state_->hooks[h], alert.event))
                observer_(alert);
    }
    if (!state_->running.load()) return;
    const std::string what = "alert " + alert.event + " zone=" + alert.zone +
                             (alert.subject.empty() ? std::string() : " " + alert.subject);
    for (std::size_t h = 0; h < state_->hooks.size(); ++h) {
        if (only_hook != SIZE_MAX && h != only_hook) continue;
        if (!wants(state_->hooks[h], alert.event)) continue;
        std::string body = alert_body(alert, state_->hooks[h].config.format);
        asio::post(state_->io,
                   [s = state_.get(), h, body = std::move(body), what = std::string(what)]() mutable {
                       Hook& hook = s->hooks[h];
                       if (hook.pending >= kMaxPending) {
                           spdlog::warn("{} dropped: {} alerts for {} are still being sent", what,
                                        hook.pending, hook.name);
                           s->failed.fetch_add(1, std::memory_order_relaxed);
                           return;
                       }
                       ++hook.pending;
                       asio::co_spawn(s->io, s->deliver(h, std::move(body), std::move(what)), asio::detached);
                   });
    }
}

void AlertService::drift(const std::string& zone, const std::string& secondary, bool starts,
                         const std::string& summary) {
    // VerifyService already reports a drift only when it starts and when it ends.
    send(Alert{starts ? "drift_start" : "drift_end",
               zone,
               secondary,
               summary,
               std::chrono::system_clock::now(),
               {{"secondary", secondary}, {"in_sync", !starts}}});
}

void AlertService::transfer_result(const std::string& zone, const std::string& secondary,
                                   const std::string& key, std::size_t failures_in_a_row,
                                   const std::string& detail) {
    if (failures_in_a_row == 0) return;
    // Each webhook has its own threshold; the count passes it once per run of failures.
    for (std::size_t h = 0; h < state_->hooks.size(); ++h) {
        if (failures_in_a_row != state_->hooks[h].config.transfer_failures) continue;
        send(Alert{"transfer_failures",
                   zone,
                   secondary,
                   std::to_string(failures_in_a_row) + " transfers in a row failed; last: " + detail,
                   std::chrono::system_clock::now(),
                   {{"secondary", secondary}, {"key", key}, {"failures_in_a_row", failures_in_a_row}}},
             h);
    }
}

void AlertService::notify_result(const std::string& zone, const std::string& target, const std::string& key,
                                 bool acknowledged, uint32_t serial, const std::string& error) {
    {
        std::lock_guard lock(mutex_);
        const auto id = std::make_tuple(zone, target, key);
        if (acknowledged) {
            notify_failing_.erase(id);
            return;
        }
        // Given up again before an acknowledgement: the same incident.
        if (!notify_failing_.insert(id).second) return;
    }
    send(Alert{"notify_giveup",
               zone,
               target,
               "NOTIFY for serial " + std::to_string(serial) + " given up: " + error,
               std::chrono::system_clock::now(),
               {{"target", target}, {"key", key}, {"serial", serial}, {"error", error}}});
}

void AlertService::reload_result(const std::string& zone, const std::string& error) {
    {
        std::lock_guard lock(mutex_);
        if (error.empty()) {
            reload_failing_.erase(zone);
            return;
        }
        if (!reload_failing_.insert(zone).second) return;  // still failing: the same incident
    }
    send(Alert{"reload_failed",
               zone,
               "",
               "reload failed, the previous version is still served: " + error,
               std::chrono::system_clock::now(),
               {{"error", error}}});
}

}  // namespace headwater::server
