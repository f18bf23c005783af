// libFuzzer target: TSIG verification of a request (RFC 8945 §5.2) and the signed answers that follow.
//
// Each input is one DNS message, used twice:
//   1. as received: tsig::verify_request against a key store holding one key of every algorithm, then
//      error_answer() or a signed two-message answer from the ServerSequence, then xfr::Responder (whose
//      zone ACL requires a key) over TCP and UDP, a transfer drained to its end. The seed corpus holds
//      requests signed at kNow with those keys (make_seeds.py), so mutations start past the MAC check.
//   2. when it parses, is a query and carries no TSIG: signed by the harness as a client
//      (tsig::ClientSequence, the key picked by the message ID) and answered by the Responder; when the
//      server side verifies it, every message of the answer must verify on the client side, signed, and
//      the sequence must end complete. Every 4th ID puts the server clock past the fudge (BADTIME).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "fuzz_common.h"
#include "tsig/ClientSequence.h"
#include "tsig/KeyStore.h"
#include "tsig/ServerSequence.h"
#include "xfr/Responder.h"
#include "zone/ZoneStore.h"

using namespace headwater;

namespace {

constexpr std::string_view kZone = R"($ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1 hostmaster 2026112601 3600 900 1209600 300
        IN NS   ns1
ns1     IN A    192.0.2.53
www     IN A    192.0.2.80
www     IN TXT  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
)";

// Name, algorithm, secret length and fill octet; make_seeds.py has the same table.
struct KeySpec {
    const char* name;
    const char* algorithm;
    std::size_t length;
    uint8_t fill;
};
constexpr KeySpec kKeys[] = {
    {"xfr-key", "hmac-sha256", 32, 0x42},    {"md5-key", "hmac-md5", 16, 0x11},
    {"sha1-key", "hmac-sha1", 20, 0x22},     {"sha224-key", "hmac-sha224", 28, 0x33},
    {"sha384-key", "hmac-sha384", 48, 0x44}, {"sha512-key", "hmac-sha512", 64, 0x55},
};

struct Fixture {
    zone::ZoneStore store;
    std::shared_ptr<tsig::KeyStore> keys = std::make_shared<tsig::KeyStore>();
    std::vector<std::shared_ptr<const tsig::Key>> key_list;
    std::unique_ptr<xfr::Responder> responder;

    Fixture() {
        auto z = std::make_shared<zone::Zone>(zone::ZoneSettings{fuzz::name("example.com."), "/unused"});
        z->install(fuzz::build_version(kZone, "example.com."), zone::Clock::time_point());
        store.add(z);
        xfr::AclRule keyed;
        keyed.name = "keyed";
        keyed.networks = {dns::IpNetwork::parse("127.0.0.0/8").value()};
        for (const auto& spec : kKeys) {
            const std::vector<uint8_t> secret(spec.length, spec.fill);
            auto key = tsig::Key::create(spec.name, spec.algorithm, secret);
            if (!key || !keys->add(std::move(key).value())) fuzz::fuzz_fail("harness key", spec.name);
            key_list.push_back(keys->find(fuzz::name(spec.name)));
            keyed.keys.push_back(std::string(spec.name) + ".");
        }
        std::unordered_map<std::string, std::vector<xfr::AclRule>> acls;
        acls[fuzz::name("example.com.").key()] = {keyed};
        responder = std::make_unique<xfr::Responder>(store, std::move(acls), keys);
    }
};

xfr::Peer local_peer(xfr::Transport transport) {
    return xfr::Peer{*dns::IpAddress::parse("127.0.0.1"), 5353, transport};
}

// All the messages of the Responder's answer (none when it drops the query).
std::vector<std::vector<uint8_t>> respond(const Fixture& f, std::span<const uint8_t> query,
                                          const xfr::Peer& peer, uint64_t now) {
    auto r = f.responder->respond(query, peer, now);
    switch (r.kind) {
        case xfr::Response::Kind::Drop:
            return {};
        case xfr::Response::Kind::Message:
            fuzz::check_answer(query, r.message, peer.transport);
            return {std::move(r.message)};
        case xfr::Response::Kind::Transfer:
            if (peer.transport != xfr::Transport::Tcp) fuzz::fuzz_fail("a transfer stream over UDP");
            return fuzz::drain(query, *r.transfer, now);
    }
    return {};
}

// Step 1: the bytes as received.
void as_received(const Fixture& f, std::span<const uint8_t> wire) {
    auto parsed = dns::Message::parse(wire);
    if (parsed && parsed->tsig()) {
        auto v = tsig::verify_request(wire, *parsed, *f.keys, fuzz::kNow);
        switch (v.status) {
            case tsig::RequestStatus::Unsigned:
                fuzz::fuzz_fail("a request with a TSIG record verified as unsigned");
            case tsig::RequestStatus::Verified: {
                if (!v.signer || !v.key) fuzz::fuzz_fail("verified without a signer");
                // A two-message answer: the first signed with the request MAC, the next with the first's.
                const auto h = parsed->header();
                const dns::Question* q = parsed->question() ? &*parsed->question() : nullptr;
                for (int i = 0; i < 2; ++i) {
                    auto m = xfr::error_response(h, i == 0 ? q : nullptr, dns::Rcode::NoError, false,
                                                 v.signer->reserve_size());
                    const std::size_t before = m.size();
                    v.signer->sign(m, 0, fuzz::kNow);
                    if (m.size() > before + v.signer->reserve_size())
                        fuzz::fuzz_fail("TSIG larger than reserved");
                    auto signed_answer = fuzz::check_answer(wire, m, xfr::Transport::Tcp);
                    if (!signed_answer.tsig()) fuzz::fuzz_fail("signed answer without TSIG");
                }
                break;
            }
            default: {
                auto answer = tsig::error_answer(*parsed, v, fuzz::kNow);
                auto m = fuzz::check_answer(wire, answer, xfr::Transport::Tcp);
                if (m.header().rcode() != static_cast<uint8_t>(tsig::error_rcode(v.status)))
                    fuzz::fuzz_fail("error answer with another rcode than error_rcode()");
                break;
            }
        }
    }
    respond(f, wire, local_peer(xfr::Transport::Tcp), fuzz::kNow);
    respond(f, wire, local_peer(xfr::Transport::Udp), fuzz::kNow);
}

// Step 2: the harness signs the message as a client, then checks the answer as that client.
void signed_by_harness(const Fixture& f, std::span<const uint8_t> wire) {
    auto parsed = dns::Message::parse(wire);
    if (!parsed || parsed->tsig() || parsed->header().qr()) return;
    const uint16_t id = parsed->header().id;
    const auto& key = f.key_list[id % f.key_list.size()];
    const bool skewed = (id >> 3) % 4 == 0;
    const uint64_t server_now = skewed ? fuzz::kNow + tsig::kDefaultFudge + 1 : fuzz::kNow;

    tsig::ClientSequence client(key);
    std::vector<uint8_t> request(wire.begin(), wire.end());
    client.sign_request(request, 0, fuzz::kNow);

    // Whether the server side accepts it (the fuzzed part may still make the signed message malformed).
    auto reparsed = dns::Message::parse(request);
    if (!reparsed) return;
    const auto status = tsig::verify_request(request, *reparsed, *f.keys, server_now).status;
    if (skewed && status == tsig::RequestStatus::Verified)
        fuzz::fuzz_fail("a request outside the fudge verified");

    const auto answer = respond(f, request, local_peer(xfr::Transport::Tcp), server_now);
    if (status != tsig::RequestStatus::Verified) return;
    if (answer.empty()) fuzz::fuzz_fail("no answer to a verified request");
    for (const auto& m : answer) {
        auto pm = dns::Message::parse(m);
        if (!pm) fuzz::fuzz_fail("answer does not parse");
        auto ok = client.verify(m, *pm, server_now);
        if (!ok) fuzz::fuzz_fail("answer to a verified request does not verify:", ok.error().message);
        if (*ok != tsig::Verified::Signed)
            fuzz::fuzz_fail("unsigned message in the answer to a signed request");
    }
    if (!client.complete()) fuzz::fuzz_fail("signed answer ends incomplete");
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the entry point libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static const Fixture fixture;
    const std::span<const uint8_t> wire(data, size);
    as_received(fixture, wire);
    signed_by_harness(fixture, wire);
    return 0;
}
