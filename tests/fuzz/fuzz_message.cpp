// libFuzzer target: the message parser and the whole query path on arbitrary bytes.
//
// Each input is taken as one DNS message: dns::Message::parse, then every field it exposes (question,
// records, EDNS, TSIG) is read and every name read back from its text; then xfr::Responder answers it as
// a query from an address the transfer ACL allows, over UDP and over TCP, against a small zone with CNAME
// and DNAME chains, wildcards and a delegation. Every answer must parse, echo ID and opcode, and fit the
// UDP limit; a transfer is drained to its last message.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "fuzz_common.h"
#include "tsig/KeyStore.h"
#include "tsig/TsigRecord.h"
#include "xfr/Responder.h"
#include "xfr/TransferPlan.h"
#include "zone/ZoneStore.h"

using namespace headwater;

namespace {

constexpr std::string_view kZone = R"($ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1 hostmaster 2026112601 3600 900 1209600 300
        IN NS   ns1
        IN MX   10 mail
        IN A    192.0.2.10
ns1     IN A    192.0.2.53
mail    IN A    192.0.2.25
mail    IN AAAA 2001:db8::25
www     IN CNAME @
alias   IN CNAME elsewhere.example.org.
loop1   IN CNAME loop2
loop2   IN CNAME loop1
a.b.c   IN TXT  "deep"
*.wild  IN A    192.0.2.77
*.wild  IN TXT  "wild"
away    IN DNAME elsewhere.example.net.
here    IN DNAME inside
h.inside IN A   192.0.2.88
into-sub IN CNAME host.sub
d1      IN DNAME d2.example.com.
d2      IN DNAME d3.example.com.
x.d3    IN TXT  "x.d3"
sub     IN NS   ns.sub
sub     IN DS   12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub  IN A    192.0.2.99
srv     IN SRV  0 5 5060 mail
ptr     IN PTR  www
big     IN TXT  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "5123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
)";

struct Fixture {
    zone::ZoneStore store;
    std::unique_ptr<xfr::Responder> responder;

    Fixture() {
        auto z = std::make_shared<zone::Zone>(zone::ZoneSettings{fuzz::name("example.com."), "/unused"});
        z->install(fuzz::build_version(kZone, "example.com."), zone::Clock::time_point());
        store.add(z);
        auto keys = std::make_shared<tsig::KeyStore>();
        const std::vector<uint8_t> secret(32, 0x42);
        (void)keys->add(tsig::Key::create("xfr-key", "hmac-sha256", secret).value());
        std::unordered_map<std::string, std::vector<xfr::AclRule>> acls;
        acls[fuzz::name("example.com.").key()] = {xfr::AclRule{
            "providers", {dns::IpNetwork::parse("127.0.0.1/32").value()}, {}, {}, {}, {}, {}, {}}};
        responder = std::make_unique<xfr::Responder>(store, std::move(acls), keys);
    }
};

void answer(const Fixture& f, std::span<const uint8_t> query, xfr::Transport transport) {
    const xfr::Peer peer{*dns::IpAddress::parse("127.0.0.1"), 5353, transport};
    auto r = f.responder->respond(query, peer, fuzz::kNow);
    switch (r.kind) {
        case xfr::Response::Kind::Drop:
            // Only what has no header, or claims to be a response, goes unanswered.
            if (auto h = dns::Message::parse_header(query); h && !h->qr()) fuzz::fuzz_fail("query dropped");
            break;
        case xfr::Response::Kind::Message:
            fuzz::check_answer(query, r.message, transport);
            break;
        case xfr::Response::Kind::Transfer:
            if (transport != xfr::Transport::Tcp) fuzz::fuzz_fail("a transfer stream over UDP");
            fuzz::drain(query, *r.transfer, fuzz::kNow);
            break;
    }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the entry point libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static const Fixture fixture;
    const std::span<const uint8_t> wire(data, size);

    auto parsed = dns::Message::parse(wire);
    const auto header = dns::Message::parse_header(wire);
    if (parsed) {
        if (!header) fuzz::fuzz_fail("message parses but its header does not");
        fuzz::walk_message(*parsed);
        tsig::TsigRecordView view;
        if (parsed->tsig() && tsig::parse_tsig(*parsed, view)) {
            // The decoded RDATA views must stay inside the message.
            if (!fuzz::inside(view.rdata.mac, parsed->wire()) ||
                !fuzz::inside(view.rdata.other, parsed->wire()))
                fuzz::fuzz_fail("TSIG MAC or other data outside the message");
            unsigned sum = 0;
            for (uint8_t b : view.rdata.mac) sum += b;
            for (uint8_t b : view.rdata.other) sum += b;
            fuzz::keep(sum);
            (void)view.rdata.algorithm.to_string();
        }
        (void)xfr::ixfr_client_serial(*parsed);
    } else if (size >= dns::kHeaderSize && !header) {
        fuzz::fuzz_fail("a 12-octet header does not parse");
    }

    answer(fixture, wire, xfr::Transport::Udp);
    answer(fixture, wire, xfr::Transport::Tcp);
    return 0;
}
