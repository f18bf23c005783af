// A small command-line face of tsig/ for the cross-check against dnspython (tsig_crosscheck_test.py).
// Messages travel as hex, one per line. The time is always given: nothing here reads the clock.
//
//   tsig_vector_tool server ALG KEYNAME SECRET_B64 NOW COUNT  < query-hex
//       verifies the query with a store holding that key; prints "status <STATUS>" and then, when
//       verified, COUNT signed answer messages ("message <hex>"), else the error answer ("answer <hex>")
//       when there is one.
//   tsig_vector_tool client-sign ALG KEYNAME SECRET_B64 NOW
//       prints a signed AXFR query for example.com ("query <hex>") and its MAC ("mac <hex>").
//   tsig_vector_tool client-verify ALG KEYNAME SECRET_B64 NOW  < answer-hex lines
//       signs the same query again (deterministic), then verifies each answer message in order, printing
//       "signed", "unsigned" or "error <kind> <message>" per message and finally "complete yes|no".
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "tsig/ClientSequence.h"
#include "tsig/ServerSequence.h"
#include "zone/dns/Base64.h"
#include "zone/dns/MessageBuilder.h"

namespace {

using namespace headwater;

std::string to_hex(std::span<const uint8_t> bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::vector<uint8_t> from_hex(const std::string& text) {
    std::vector<uint8_t> out;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
        const int hi = nibble(text[i]);
        const int lo = nibble(text[i + 1]);
        if (hi < 0 || lo < 0) break;
        out.push_back(static_cast<uint8_t>(hi * 16 + lo));
    }
    return out;
}

dns::Name name(std::string_view text) {
    return dns::Name::from_text(text).value();
}

// The index-th message of a made-up AXFR of example.com: SOA first and last, A records between.
std::size_t append_answer(std::vector<uint8_t>& buf, uint16_t id, int index, int count, std::size_t reserve) {
    const std::size_t start = buf.size();
    dns::MessageBuilder mb(buf, dns::kMaxTcpMessage);
    mb.header(id, dns::flag::QR | dns::flag::AA);
    if (index == 0) mb.question(name("example.com."), dns::to_u16(dns::RRType::AXFR), 1);
    mb.reserve(reserve);
    const auto soa = [&] {
        std::vector<uint8_t> rdata;
        const auto mname = name("ns1.example.com.");
        const auto rname = name("hostmaster.example.com.");
        rdata.insert(rdata.end(), mname.wire().begin(), mname.wire().end());
        rdata.insert(rdata.end(), rname.wire().begin(), rname.wire().end());
        const uint32_t values[] = {2024010101, 3600, 600, 86400, 300};
        for (uint32_t v : values)
            for (int s = 24; s >= 0; s -= 8) rdata.push_back(static_cast<uint8_t>(v >> s));
        (void)mb.push(dns::Section::Answer, name("example.com."), dns::to_u16(dns::RRType::SOA), 1, 3600,
                      rdata);
    };
    if (index == 0) soa();
    for (int i = 0; i < 20; ++i) {
        const uint8_t a[4] = {192, 0, 2, static_cast<uint8_t>(index * 20 + i)};
        (void)mb.push(dns::Section::Answer, name("host" + std::to_string(index * 20 + i) + ".example.com."),
                      dns::to_u16(dns::RRType::A), 1, 3600, a);
    }
    if (index == count - 1) soa();
    mb.finish();
    return start;
}

std::vector<uint8_t> make_query() {
    std::vector<uint8_t> q;
    dns::MessageBuilder mb(q, dns::kMaxTcpMessage);
    mb.header(0x2a2a, 0);
    mb.question(name("example.com."), dns::to_u16(dns::RRType::AXFR), 1);
    mb.finish();
    return q;
}

std::string kind_text(tsig::ClientError::Kind k) {
    using K = tsig::ClientError::Kind;
    switch (k) {
        case K::NotSigned:
            return "NotSigned";
        case K::TooManyUnsigned:
            return "TooManyUnsigned";
        case K::FormErr:
            return "FormErr";
        case K::WrongKey:
            return "WrongKey";
        case K::BadSig:
            return "BadSig";
        case K::BadTime:
            return "BadTime";
        case K::PeerError:
            return "PeerError";
    }
    return "?";
}

int usage() {
    std::cerr
        << "usage: tsig_vector_tool server|client-sign|client-verify ALG KEYNAME SECRET_B64 NOW [COUNT]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) return usage();
    const std::string command = argv[1];
    auto secret = dns::base64_decode(argv[4]);
    if (!secret) {
        std::cerr << "bad secret: " << secret.error() << '\n';
        return 2;
    }
    auto key = tsig::Key::create(argv[3], argv[2], *secret);
    if (!key) {
        std::cerr << key.error() << '\n';
        return 2;
    }
    const uint64_t now = std::strtoull(argv[5], nullptr, 10);

    if (command == "server") {
        const int count = argc > 6 ? std::atoi(argv[6]) : 1;
        tsig::KeyStore store;
        if (!store.add(std::move(*key))) return 2;
        std::string line;
        std::getline(std::cin, line);
        const auto wire = from_hex(line);
        auto parsed = dns::Message::parse(wire);
        if (!parsed) {
            std::cout << "status unparseable\n";
            return 0;
        }
        auto v = tsig::verify_request(wire, *parsed, store, now);
        std::cout << "status " << tsig::to_string(v.status) << '\n';
        if (v.verified()) {
            for (int i = 0; i < count; ++i) {
                std::vector<uint8_t> buf;
                append_answer(buf, parsed->header().id, i, count, v.signer->reserve_size());
                v.signer->sign(buf, 0, now);
                std::cout << "message " << to_hex(buf) << '\n';
            }
        } else if (v.status != tsig::RequestStatus::Unsigned) {
            std::cout << "answer " << to_hex(tsig::error_answer(*parsed, v, now)) << '\n';
        }
        return 0;
    }

    tsig::ClientSequence client(std::make_shared<const tsig::Key>(std::move(*key)));
    auto query = make_query();
    client.sign_request(query, 0, now);
    if (command == "client-sign") {
        std::cout << "query " << to_hex(query) << '\n' << "mac " << to_hex(client.request_mac()) << '\n';
        return 0;
    }
    if (command == "client-verify") {
        std::string line;
        while (std::getline(std::cin, line)) {
            if (line.empty()) continue;
            const auto wire = from_hex(line);
            auto parsed = dns::Message::parse(wire);
            if (!parsed) {
                std::cout << "error unparseable\n";
                continue;
            }
            auto r = client.verify(wire, *parsed, now);
            if (r) {
                std::cout << (*r == tsig::Verified::Signed ? "signed" : "unsigned") << '\n';
            } else {
                std::cout << "error " << kind_text(r.error().kind) << ' ' << r.error().message << '\n';
            }
        }
        std::cout << "complete " << (client.complete() ? "yes" : "no") << '\n';
        return 0;
    }
    return usage();
}
