#include <gtest/gtest.h>

#include "zone/dns/Message.h"
#include "zone/dns/MessageBuilder.h"
#include "zone/dns/WireReader.h"

using namespace headwater::dns;

namespace {
Name n(std::string_view text) {
    return Name::from_text(text).value();
}

std::vector<uint8_t> query(std::string_view qname, RRType type, bool edns = false) {
    std::vector<uint8_t> out;
    MessageBuilder mb(out, 512);
    mb.header(0x1234, flag::RD);
    mb.question(n(qname), to_u16(type), 1);
    if (edns) mb.set_edns(4096, true);
    mb.finish();
    return out;
}
}  // namespace

TEST(WireReader, ReadsIntegersAndStopsAtTheEnd) {
    const std::vector<uint8_t> b = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
    WireReader r(b);
    EXPECT_EQ(r.u16(), 0x0102);
    EXPECT_EQ(r.u32(), 0x03040506u);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.u16(), 0);  // only one octet left
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.u8(), 0);  // sticky
}

TEST(WireReader, DecompressesNames) {
    // "example." at 0, then "www" + pointer to 0.
    const std::vector<uint8_t> b = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 3, 'w', 'w', 'w', 0xC0, 0};
    WireReader r(b, 9);
    std::vector<uint8_t> name;
    ASSERT_TRUE(r.name(name));
    EXPECT_EQ(NameView(name).to_string(), "www.example.");
    EXPECT_EQ(r.pos(), b.size());
}

TEST(WireReader, RejectsPointerLoopsAndForwardPointers) {
    const std::vector<uint8_t> self_loop = {0xC0, 0x00};
    std::vector<uint8_t> name;
    WireReader r1(self_loop);
    EXPECT_FALSE(r1.name(name));
    const std::vector<uint8_t> forward = {0xC0, 0x02, 0};
    WireReader r2(forward);
    EXPECT_FALSE(r2.name(name));
    const std::vector<uint8_t> ext_label = {0x41, 0};
    WireReader r3(ext_label);
    EXPECT_FALSE(r3.name(name));
}

TEST(Message, ParsesQueryWithEdns) {
    const auto q = query("Example.COM.", RRType::SOA, true);
    auto m = Message::parse(q);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header().id, 0x1234);
    EXPECT_EQ(m->header().opcode(), Opcode::Query);
    ASSERT_TRUE(m->question());
    EXPECT_EQ(m->question()->qname.to_string(), "Example.COM.");  // case preserved
    EXPECT_EQ(m->question()->qtype, RRType::SOA);
    ASSERT_TRUE(m->edns());
    EXPECT_EQ(m->edns()->udp_size, 4096);
    EXPECT_TRUE(m->edns()->dnssec_ok);
}

TEST(Message, ShortInputHasNoHeader) {
    const std::vector<uint8_t> b = {1, 2, 3};
    auto m = Message::parse(b);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), ParseError::NoHeader);
}

TEST(Message, TruncatedQuestionIsMalformed) {
    auto q = query("example.com.", RRType::A);
    q.resize(q.size() - 3);
    auto m = Message::parse(q);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), ParseError::Malformed);
}

TEST(Message, TrailingGarbageIsMalformed) {
    auto q = query("example.com.", RRType::A);
    q.push_back(0);
    EXPECT_FALSE(Message::parse(q));
}

TEST(Message, TsigMustBeLast) {
    // RFC 8945 §5.1: a TSIG RR that is not the last additional record is a FORMERR.
    std::vector<uint8_t> out;
    MessageBuilder mb(out, 512);
    mb.header(1, 0);
    mb.question(n("example.com."), to_u16(RRType::AXFR), 1);
    const std::vector<uint8_t> empty;
    ASSERT_EQ(mb.push(Section::Additional, n("key."), to_u16(RRType::TSIG), 255, 0, empty), Pushed::Ok);
    ASSERT_EQ(
        mb.push(Section::Additional, n("x."), to_u16(RRType::A), 1, 0, std::vector<uint8_t>{1, 2, 3, 4}),
        Pushed::Ok);
    mb.finish();
    auto m = Message::parse(out);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), ParseError::Malformed);
}

TEST(MessageBuilder, CompressesOwnersAndRfc1035RdataNames) {
    std::vector<uint8_t> out;
    MessageBuilder mb(out, 512);
    mb.header(1, flag::QR);
    mb.question(n("example.com."), to_u16(RRType::MX), 1);
    // MX 10 mail.example.com.: preference, then a name that may be compressed (RFC 1035 type).
    std::vector<uint8_t> mx = {0, 10};
    const Name mail = n("mail.example.com.");
    const auto target = mail.wire();
    mx.insert(mx.end(), target.begin(), target.end());
    ASSERT_EQ(mb.push(Section::Answer, n("example.com."), to_u16(RRType::MX), 1, 300, mx), Pushed::Ok);
    mb.finish();
    // header 12 + question (13 + 4) + owner pointer 2 + 10 fixed + rdata (2 + "mail" 5 + pointer 2)
    EXPECT_EQ(out.size(), 12u + 17u + 2u + 10u + 9u);
    auto m = Message::parse(out);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->records().size(), 1u);
    EXPECT_EQ(m->records()[0].owner.to_string(), "example.com.");
}

TEST(MessageBuilder, NeverCompressesNamesInNewerTypes) {
    // RFC 3597 §4: SRV (RFC 2782) RDATA names go out uncompressed.
    std::vector<uint8_t> out;
    MessageBuilder mb(out, 512);
    mb.header(1, flag::QR);
    mb.question(n("example.com."), to_u16(RRType::SRV), 1);
    std::vector<uint8_t> srv = {0, 1, 0, 2, 0, 3};
    const Name apex = n("example.com.");
    const auto target = apex.wire();
    srv.insert(srv.end(), target.begin(), target.end());
    ASSERT_EQ(mb.push(Section::Answer, n("example.com."), to_u16(RRType::SRV), 1, 300, srv), Pushed::Ok);
    mb.finish();
    EXPECT_EQ(out.size(), 12u + 17u + 2u + 10u + srv.size());
}

TEST(MessageBuilder, FullLeavesNothingBehindAndKeepsReserve) {
    std::vector<uint8_t> out;
    MessageBuilder mb(out, 120);
    mb.header(1, flag::QR);
    mb.question(n("example.com."), to_u16(RRType::TXT), 1);
    mb.reserve(20);
    const std::vector<uint8_t> txt(40, 'x');
    ASSERT_EQ(mb.push(Section::Answer, n("example.com."), to_u16(RRType::TXT), 1, 1, txt), Pushed::Ok);
    const std::size_t before = mb.size();
    EXPECT_EQ(mb.push(Section::Answer, n("a.example.com."), to_u16(RRType::TXT), 1, 1, txt), Pushed::Full);
    EXPECT_EQ(mb.size(), before);
    EXPECT_EQ(mb.count(Section::Answer), 1);
    EXPECT_LE(mb.finish() + 20, 120u);
}

TEST(MessageBuilder, ExtendedRcodeGoesToOpt) {
    std::vector<uint8_t> out;
    MessageBuilder mb(out, 512);
    mb.header(7, flag::QR);
    mb.set_edns(1232, false);
    mb.set_rcode(Rcode::BadVers);  // 16: low bits 0 in the header, 1 in OPT's extended rcode
    mb.finish();
    auto m = Message::parse(out);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header().rcode(), 0);
    ASSERT_TRUE(m->edns());
    EXPECT_EQ(m->edns()->extended_rcode, 1);
}

TEST(NameCompressor, RoundTripsManyNamesAndShrinksThem) {
    std::vector<uint8_t> out;
    MessageBuilder mb(out, kMaxTcpMessage);
    mb.header(1, flag::QR);
    mb.question(n("Example.com."), to_u16(RRType::AXFR), 1);
    std::vector<Name> owners;
    for (int i = 0; i < 2000; ++i)
        owners.push_back(n("h" + std::to_string(i % 50) + ".Sub" + std::to_string(i / 50) + ".example.COM."));
    const std::vector<uint8_t> a = {192, 0, 2, 1};
    std::size_t pushed = 0;
    for (const auto& o : owners) {
        if (mb.push(Section::Answer, o, to_u16(RRType::A), 1, 60, a) == Pushed::Full) break;
        ++pushed;
    }
    ASSERT_EQ(pushed, owners.size());
    mb.finish();
    auto m = Message::parse(out);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->records().size(), owners.size());
    std::size_t uncompressed = 0;
    for (std::size_t i = 0; i < owners.size(); ++i) {
        EXPECT_EQ(m->records()[i].owner.to_string(), owners[i].to_string());  // case as written
        uncompressed += owners[i].wire().size() + 14;
    }
    // Pointers only reach the first 16 KiB, so later names share only suffixes written early on.
    EXPECT_LT(out.size(), uncompressed * 3 / 4);
}

TEST(NameCompressor, ManyRollbacksNeitherHangNorGrowWithoutBound) {
    // Every failed push leaves tombstones; lookups probe until an empty slot, so they must not fill the
    // table (this hung after a few dozen pushes when only live names counted towards the load).
    std::vector<uint8_t> out;
    MessageBuilder mb(out, 70);
    mb.header(1, flag::QR);
    const std::vector<uint8_t> a = {192, 0, 2, 1};
    ASSERT_EQ(mb.push(Section::Answer, n("x.example.com."), to_u16(RRType::A), 1, 60, a), Pushed::Ok);
    for (int i = 0; i < 5000; ++i) {
        const std::string owner = "a" + std::to_string(i) + ".b.c.d.e.f.g.h.i.j.k.example.org.";
        ASSERT_EQ(mb.push(Section::Answer, n(owner), to_u16(RRType::A), 1, 60, a), Pushed::Full) << owner;
    }
    ASSERT_EQ(mb.push(Section::Answer, n("y.example.com."), to_u16(RRType::A), 1, 60, a), Pushed::Ok);
    mb.finish();
    auto m = Message::parse(out);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->records().size(), 2u);
    EXPECT_EQ(m->records()[1].owner.to_string(), "y.example.com.");
}

TEST(NameCompressor, ForgetsNamesAfterARollback) {
    std::vector<uint8_t> out;
    MessageBuilder mb(out, 60);
    mb.header(1, flag::QR);
    const std::vector<uint8_t> a = {192, 0, 2, 1};
    ASSERT_EQ(mb.push(Section::Answer, n("a.example."), to_u16(RRType::A), 1, 60, a), Pushed::Ok);
    // Does not fit: its new suffixes must not be pointed at later.
    ASSERT_EQ(mb.push(Section::Answer, n("verylonglabel-verylonglabel.other."), to_u16(RRType::A), 1, 60, a),
              Pushed::Full);
    ASSERT_EQ(mb.push(Section::Answer, n("b.other."), to_u16(RRType::A), 1, 60, a), Pushed::Ok);
    mb.finish();
    auto m = Message::parse(out);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->records().size(), 2u);
    EXPECT_EQ(m->records()[1].owner.to_string(), "b.other.");
}
