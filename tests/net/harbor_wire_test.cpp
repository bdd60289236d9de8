// The harbor wire codec (net/harbor_wire) against the golden vectors of real skynet
// (tests/vectors/harbor.json, read at run time): every master-link packet of the file decoded
// to the values skynet packed and encoded back byte for byte (or refused the way the master
// and the slaves refuse it), every harbor-link frame decoded to its trailer and payload and
// encoded back, each link's byte stream cut into frames after its handshake byte; then the
// edges the vectors leave out (lengths at the limit, split reads, errors that stick).

#include "net/harbor_wire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../support/vector_file.hpp"
#include "seri/writer.hpp"

namespace starling::net::harbor {
namespace {

using nlohmann::json;
using vector_file::from_hex;

const json& vectors() {
  static const json loaded = vector_file::parse(STARLING_VECTORS_DIR "/harbor.json");
  return loaded;
}

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::uint32_t hex_u32(const json& v) {
  return std::stoul(v.get<std::string>(), nullptr, 16);
}

// ---- master link ---------------------------------------------------------------------------

struct recorded_packet {
  std::string where;
  std::string hex;
  json values;  // null when the record holds several packets or none
};

std::vector<recorded_packet> all_packets() {
  std::vector<recorded_packet> out;
  const json& v = vectors();
  const auto add = [&out](const std::string& where, const json& p) {
    out.push_back({where + ": " + p.value("meaning", std::string()), p["hex"].get<std::string>(),
                   p.contains("values") ? p["values"] : json()});
  };
  for (const json& p : v["master_link"]["packets"])
    add("master_link", p);
  for (const json& p : v["name_conflict_run"]["master_packets"])
    add("name_conflict_run", p);
  for (const json& p : v["observations"]["unknown_name_queries"]["packets"]) {
    add("unknown_name_queries", p);
  }
  add("query_sent_for_20_byte_name",
      v["observations"]["api_checks_on_B"]["query_sent_for_20_byte_name"]);
  for (const char* side : {"fake_peer_slave_side", "fake_peer_master_side"}) {
    for (const json& step : v[side]["steps"]) {
      for (const json& r : step["records"]) {
        if (r["kind"] == "master_packet")
          add(std::string(side) + " " + step["name"].get<std::string>(), r);
      }
    }
  }
  return out;
}

// Whether the typed values are a packet of a known type with the right kinds of arguments.
bool well_formed(const json& values) {
  if (values.empty() || values[0]["type"] != "string") return false;
  const std::string type = values[0]["text"];
  std::vector<std::string> want;
  if (type == "W" || type == "D") want = {"integer"};
  if (type == "Q") want = {"string"};
  if (type == "H" || type == "C") want = {"integer", "string"};
  if (type == "R" || type == "N") want = {"string", "integer"};
  if (want.empty() || values.size() < want.size() + 1) return false;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (values[i + 1]["type"] != want[i]) return false;
  }
  return true;
}

TEST(harbor_vectors, are_present) {
  ASSERT_TRUE(vectors().is_object()) << "cannot read " STARLING_VECTORS_DIR "/harbor.json";
  EXPECT_GE(all_packets().size(), 39U + 27U);
  EXPECT_EQ(vectors()["harbor_links"].size(), 3U);
}

TEST(harbor_master_packet, every_recorded_packet_decodes_and_encodes_back) {
  int checked = 0;
  for (const recorded_packet& rec : all_packets()) {
    SCOPED_TRACE(rec.where + " " + rec.hex);
    const std::string bytes = from_hex(rec.hex);
    packet_reader reader;
    reader.append(bytes_of(bytes));
    std::vector<std::string> payloads;
    while (auto p = reader.next())
      payloads.push_back(text_of(*p));
    EXPECT_EQ(reader.buffered(), 0U) << "bytes left over";
    ASSERT_FALSE(payloads.empty());
    if (rec.values.is_null()) {  // several packets in one write, or an empty one
      for (const std::string& body : payloads) {
        const auto p = decode_packet(bytes_of(body));
        if (body.empty()) {
          ASSERT_FALSE(p);
          EXPECT_EQ(p.error().what, packet_error::code::empty);
        } else {
          ASSERT_TRUE(p) << describe(p.error());
          const auto again = encode_packet(*p);
          ASSERT_TRUE(again);
          EXPECT_EQ(again->view().substr(1), body);
        }
      }
      ++checked;
      continue;
    }
    ASSERT_EQ(payloads.size(), 1U);
    const auto p = decode_packet(bytes_of(payloads[0]));
    if (!well_formed(rec.values)) {
      ASSERT_FALSE(p);
      const bool known = std::string("HWCRQND").find(rec.values[0]["text"].get<std::string>()) !=
                         std::string::npos;
      EXPECT_EQ(p.error().what,
                known ? packet_error::code::bad_arguments : packet_error::code::unknown_type);
      EXPECT_EQ(p.error().text, rec.values[0]["text"]);
      ++checked;
      continue;
    }
    ASSERT_TRUE(p) << describe(p.error());
    EXPECT_EQ(static_cast<char>(p->type), rec.values[0]["text"].get<std::string>()[0]);
    for (std::size_t i = 1; i < rec.values.size(); ++i) {
      const json& value = rec.values[i];
      if (value["type"] == "integer") {
        EXPECT_EQ(p->number, std::stoll(value["value"].get<std::string>()));
      } else {
        EXPECT_EQ(p->text, value["text"].get<std::string>());
      }
    }
    const auto again = encode_packet(*p);
    ASSERT_TRUE(again) << describe(again.error());
    EXPECT_EQ(again->view(), bytes);
    ++checked;
  }
  EXPECT_GE(checked, 80);
}

TEST(harbor_master_packet, handles_of_high_harbors_are_64_bit_integers) {
  const master_packet n{.type = packet_type::name, .number = 0x80000001LL, .text = "X"};
  const auto bytes = encode_packet(n);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->view(), from_hex("0d0c4e0c58320100008000000000"));
  const auto back = decode_packet(bytes_of(bytes->view().substr(1)));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->number, 0x80000001LL);
}

TEST(harbor_master_packet, payload_of_255_bytes_is_the_limit) {
  // "C", id, address: 2 + 2 + 3 + address bytes (a long string has a 2-byte length).
  const std::string address(255 - 7, 'a');
  const auto fits = encode_packet({.type = packet_type::connect, .number = 2, .text = address});
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->size(), 256U);
  EXPECT_EQ(static_cast<std::uint8_t>(fits->data()[0]), 255);
  const std::string longer = address + "a";
  const auto too_long = encode_packet({.type = packet_type::connect, .number = 2, .text = longer});
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().what, packet_error::code::too_long);
  EXPECT_EQ(too_long.error().detail, 256);
}

TEST(harbor_master_packet, refuses_what_is_not_a_packet) {
  const auto not_pack = decode_packet(bytes_of(std::string("\x0c\x48\xff", 3)));
  ASSERT_FALSE(not_pack);
  EXPECT_EQ(not_pack.error().what, packet_error::code::malformed);
  const auto number_first = decode_packet(bytes_of(from_hex("0a02")));
  ASSERT_FALSE(number_first);
  EXPECT_EQ(number_first.error().what, packet_error::code::bad_type);
  const auto missing = decode_packet(bytes_of(from_hex("0c48")));  // "H" alone
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().what, packet_error::code::bad_arguments);
  const auto long_type = decode_packet(bytes_of(from_hex("1448480a01")));  // "HH", 1
  ASSERT_FALSE(long_type);
  EXPECT_EQ(long_type.error().what, packet_error::code::unknown_type);
  for (const auto& e : {not_pack.error(), number_first.error(), missing.error()}) {
    EXPECT_FALSE(describe(e).empty());
  }
}

TEST(packet_reader, cuts_a_stream_read_byte_by_byte) {
  const std::string stream = from_hex(
      "040c570a01"
      "0c0c4e244543484f220a000001"
      "040c440a03");
  packet_reader reader;
  std::vector<std::string> got;
  for (char c : stream) {
    reader.append(bytes_of(std::string_view(&c, 1)));
    while (auto p = reader.next())
      got.push_back(text_of(*p));
  }
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[1], from_hex("0c4e244543484f220a000001"));
  EXPECT_EQ(reader.buffered(), 0U);
}

// ---- harbor link ---------------------------------------------------------------------------

// The bytes of a recorded frame; the two that were too long to store are rebuilt from their
// values (skynet.pack of the strings) and trailer, and checked against the stored ends.
std::string frame_bytes(const json& f) {
  if (!f.value("hex_omitted", false)) return from_hex(f["hex"].get<std::string>());
  seri::writer w;
  for (const json& v : f["values"]) {
    w.write_string(v.contains("repeat") ? std::string(v["length"].get<std::size_t>(),
                                                      v["repeat"].get<std::string>()[0])
                                        : v["text"].get<std::string>());
  }
  const frame_header h{
      .source = hex_u32(f["trailer"]["source"]),
      .type = static_cast<std::uint8_t>(hex_u32(f["trailer"]["destination_field"]) >> 24),
      .destination = hex_u32(f["trailer"]["destination_field"]),
      .session = hex_u32(f["trailer"]["session"])};
  const auto frame = encode_frame(h, w.bytes());
  EXPECT_TRUE(frame);
  if (!frame) return {};
  std::string bytes(frame->view());
  EXPECT_EQ(bytes.size(), f["byte_length"].get<std::size_t>());
  const std::string prefix = from_hex(f["hex_prefix"].get<std::string>());
  const std::string suffix = from_hex(f["hex_suffix"].get<std::string>());
  EXPECT_EQ(bytes.substr(0, prefix.size()), prefix);
  EXPECT_EQ(bytes.substr(bytes.size() - suffix.size()), suffix);
  return bytes;
}

struct recorded_frame {
  std::string where;
  json record;
};

std::vector<recorded_frame> all_frames() {
  std::vector<recorded_frame> out;
  for (const json& link : vectors()["harbor_links"]) {
    for (const json& f : link["frames"]) {
      out.push_back(
          {link["link"].get<std::string>() + " #" + std::to_string(f["seq"].get<int>()), f});
    }
  }
  for (const json& step : vectors()["fake_peer_slave_side"]["steps"]) {
    for (const json& r : step["records"]) {
      if (r["kind"] == "frame") out.push_back({"fake peer " + step["name"].get<std::string>(), r});
    }
  }
  return out;
}

TEST(harbor_frame, every_recorded_frame_decodes_and_encodes_back) {
  const auto frames = all_frames();
  EXPECT_GE(frames.size(), 34U + 4U + 2U + 54U);
  for (const recorded_frame& rec : frames) {
    SCOPED_TRACE(rec.where);
    const json& f = rec.record;
    const std::string bytes = frame_bytes(f);
    link_reader reader;
    reader.append(bytes_of(bytes));
    auto got = reader.next();
    ASSERT_TRUE(got) << describe(got.error());
    ASSERT_TRUE(got->has_value());
    const frame& decoded = **got;
    const std::uint32_t field = hex_u32(f["trailer"]["destination_field"]);
    EXPECT_EQ(decoded.header.source, hex_u32(f["trailer"]["source"]));
    EXPECT_EQ(decoded.header.type, field >> 24);
    EXPECT_EQ(decoded.header.type, f["type"].get<int>());
    EXPECT_EQ(decoded.header.destination, field & local_mask);
    EXPECT_EQ(decoded.header.session, hex_u32(f["trailer"]["session"]));
    if (f.contains("payload_hex")) {
      EXPECT_EQ(decoded.body.view(), from_hex(f["payload_hex"]));
    }
    if (f.contains("length")) {
      EXPECT_EQ(decoded.body.size() + trailer_size, f["length"].get<std::size_t>());
    }
    if (f.contains("delivered_as")) {
      const json& d = f["delivered_as"];
      EXPECT_EQ(decoded.header.session, d["session"].get<std::uint32_t>());
      // The receiver puts its own harbor id on top of the local id.
      const std::uint32_t destination =
          std::stoul(d["destination"].get<std::string>().substr(1), nullptr, 16);
      EXPECT_EQ(destination & local_mask, decoded.header.destination);
    }
    auto again = reader.next();
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->has_value());
    const auto encoded = encode_frame(decoded.header, decoded.body.bytes());
    ASSERT_TRUE(encoded);
    EXPECT_EQ(encoded->view(), bytes);
  }
}

// Each direction of each link as one stream: the sender's id byte, then its frames in the
// order they were sent, read by a connector (which expects the byte) in uneven pieces.
TEST(harbor_frame, each_link_direction_reads_as_one_stream) {
  for (const json& link : vectors()["harbor_links"]) {
    for (const json& hs : link["handshake"]) {
      const std::string from = hs["from"];
      SCOPED_TRACE(link["link"].get<std::string>() + " from " + from);
      std::string stream = from_hex(hs["hex"].get<std::string>());
      std::vector<const json*> sent;
      for (const json& f : link["frames"]) {
        if (f["from"] == from) sent.push_back(&f);
      }
      std::sort(sent.begin(), sent.end(),
                [](const json* a, const json* b) { return (*a)["seq"] < (*b)["seq"]; });
      for (const json* f : sent)
        stream += frame_bytes(*f);
      link_reader reader(static_cast<std::uint8_t>(stream[0]));
      std::vector<frame> got;
      for (std::size_t at = 0, step = 1; at < stream.size(); at += step, step = step * 3 % 1019) {
        reader.append(bytes_of(std::string_view(stream).substr(at, step)));
        for (;;) {
          auto f = reader.next();
          ASSERT_TRUE(f) << describe(f.error());
          if (!f->has_value()) break;
          got.push_back(std::move(**f));
        }
      }
      EXPECT_FALSE(reader.in_handshake());
      EXPECT_EQ(reader.buffered(), 0U);
      ASSERT_EQ(got.size(), sent.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].header.session, hex_u32((*sent[i])["trailer"]["session"]));
      }
    }
  }
}

TEST(harbor_frame, handshake_race_frame_follows_the_id_byte_in_one_read) {
  const json& race = vectors()["observations"]["handshake_race"];
  const std::string frame = from_hex(race["frame_lost_hex"].get<std::string>());
  link_reader connector(3);
  connector.append(bytes_of("\x03" + frame));
  auto got = connector.next();
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->header,
            (frame_header{.source = 0x02000007, .type = 9, .destination = 3, .session = 51}));
  EXPECT_EQ((*got)->body.view(), "$PING");
}

TEST(harbor_frame, a_wrong_id_byte_fails_the_link) {
  link_reader connector(8);  // T05: harbor 8 was expected, 9 answered
  connector.append(bytes_of(from_hex("09")));
  auto got = connector.next();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().what, frame_error::code::bad_handshake);
  EXPECT_EQ(got.error().detail, 9U);
  connector.append(bytes_of(from_hex("0000000c020000ff0700000100000007")));
  EXPECT_FALSE(connector.next()) << "a failed reader stays failed";
}

TEST(harbor_frame, a_length_of_2_24_or_more_fails_the_link) {
  for (const json& step : vectors()["fake_peer_slave_side"]["steps"]) {
    for (const json& r : step["records"]) {
      if (r["kind"] != "bad_length") continue;
      link_reader acceptor;
      acceptor.append(bytes_of(from_hex(r["hex"].get<std::string>())));
      auto got = acceptor.next();
      ASSERT_FALSE(got);
      EXPECT_EQ(got.error().what, frame_error::code::too_long);
      EXPECT_EQ(got.error().detail, 0x01000000U);
    }
  }
  link_reader at_limit;
  at_limit.append(bytes_of(from_hex("00ffffff")));
  auto waiting = at_limit.next();
  ASSERT_TRUE(waiting) << "the largest length is legal";
  EXPECT_FALSE(waiting->has_value());
}

TEST(harbor_frame, a_length_below_the_trailer_fails_the_link) {
  link_reader acceptor;
  acceptor.append(bytes_of(from_hex("0000000b")));
  auto got = acceptor.next();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().what, frame_error::code::too_short);
  EXPECT_EQ(got.error().detail, 11U);
  EXPECT_FALSE(describe(got.error()).empty());
}

TEST(harbor_frame, the_sender_refuses_a_payload_past_the_limit) {
  EXPECT_TRUE(encode_length(max_payload));
  const auto over = encode_length(max_payload + 1);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().what, frame_error::code::too_long);
  EXPECT_EQ(over.error().detail, max_payload + 1);
  const auto limit = encode_length(max_payload);
  EXPECT_EQ(text_of(*limit), from_hex("00ffffff"));
}

TEST(harbor_frame, trailer_keeps_the_local_id_and_the_full_session) {
  const auto t = encode_trailer(
      {.source = 0xff000001, .type = 255, .destination = 0x12345678, .session = 0xfffffffe});
  EXPECT_EQ(text_of(t), from_hex("ff000001"
                                 "ff345678"
                                 "fffffffe"));
  EXPECT_EQ(
      decode_trailer(t),
      (frame_header{
          .source = 0xff000001, .type = 255, .destination = 0x345678, .session = 0xfffffffe}));
}

}  // namespace
}  // namespace starling::net::harbor
