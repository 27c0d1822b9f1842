#include "codec_cost.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <stdexcept>

#include "common/gzip.h"
#include "lumbung/changeset.h"
#include "lumbung/pull_stream.h"

namespace lumbung::bench {
namespace {

double best_us(int reps, const std::function<void()>& f) {
  double best = 1e300;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(
        best,
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

double round2(double v) { return static_cast<double>(static_cast<int64_t>(v * 100 + 0.5)) / 100; }

// One form (push or pull) of the same ops: v1 at gzip 6 and 9, v2 at every codec tried.
nlohmann::ordered_json measure(const std::string& text, bool push, size_t n) {
  nlohmann::ordered_json out;
  const double per = static_cast<double>(n);
  auto decode_ops = [&](Json&& doc) {
    if (push) {
      decode_changeset(std::move(doc));
    } else {
      for (auto& o : doc["ops"]) decode_op(std::move(o), "");
    }
  };
  for (int level : {6, 9}) {
    std::string z;
    const double enc = best_us(3, [&] { z = gzip::compress(text, level); });
    const double dec = best_us(3, [&] { decode_ops(Json::parse(gzip::decompress(z, 1 << 28))); });
    out["v1_gzip" + std::to_string(level)] = {{"bytes_per_record", round2(z.size() / per)},
                                              {"encode_us_per_record", round2(enc / per)},
                                              {"decode_us_per_record", round2(dec / per)}};
  }
  const Json doc = Json::parse(text);
  const std::pair<const char*, V2EncodeOptions> codecs[] = {
      {"v2_zlib6", {V2Compression::kZlib, 6}},   {"v2_zlib9", {V2Compression::kZlib, 9}},
      {"v2_zstd3", {V2Compression::kZstd, 3}},   {"v2_zstd9", {V2Compression::kZstd, 9}},
      {"v2_zstd15", {V2Compression::kZstd, 15}}, {"v2_zstd19", {V2Compression::kZstd, 19}},
      {"v2_zstd22", {V2Compression::kZstd, 22}}};
  for (const auto& c : codecs) {
    std::string b;
    // Encoding from the JSON text, as the client does (it holds the ops as text).
    const double enc = best_us(3, [&] { b = encode_changeset_v2(Json::parse(text), c.second); });
    const double dec = best_us(3, [&] { decode_ops(decode_changeset_v2(b, 1 << 28)); });
    if (decode_changeset_v2(b, 1 << 28) != doc) throw std::runtime_error("v2 round trip differs");
    out[c.first] = {{"bytes_per_record", round2(b.size() / per)},
                    {"encode_us_per_record", round2(enc / per)},
                    {"decode_us_per_record", round2(dec / per)}};
  }
  return out;
}

}  // namespace

nlohmann::ordered_json measure_codecs(const std::vector<WireChange>& wire,
                                      const std::string& device) {
  std::string push = "{\"device\":" + Json(device).dump() + ",\"ops\":[";
  Json pull_ops = Json::array();
  for (size_t i = 0; i < wire.size(); ++i) {
    if (i) push += ',';
    push += wire[i].json;
    Json op = Json::parse(wire[i].json);
    op["dev"] = device;  // a pull page names each op's device
    pull_ops.push_back(std::move(op));
  }
  push += "]}";
  const std::string pull = Json{{"ops", pull_ops}, {"next", "1:2000"}, {"more", false}}.dump();
  nlohmann::ordered_json out;
  out["records"] = wire.size();
  out["push_json_bytes_per_record"] = round2(push.size() / static_cast<double>(wire.size()));
  out["push"] = measure(push, true, wire.size());
  out["pull"] = measure(pull, false, wire.size());
  // The streamed pull (lumbung/pull_stream.h): the same ops as frames of k ops, in one
  // zstd 19 stream flushed at each frame against each frame its own v2 body; bodies only.
  nlohmann::ordered_json frames;
  for (size_t k : {50, 150, 500, 2000}) {
    PullStreamWriter stream(19);
    size_t separate = 0;
    for (size_t at = 0; at < pull_ops.size(); at += k) {
      Json page{{"ops", Json::array()},
                {"next", "djI6ZXBvY2g6" + std::to_string(at + k)},
                {"more", at + k < pull_ops.size()},
                {"server_time_ms", 1764990000000 + static_cast<int64_t>(at)},
                {"epoch", "5f0c2a9e1b7d4c3a"},
                {"acked_seq", 0},
                {"regions", {"74.02"}},
                {"schema_version", 1}};
      for (size_t i = at; i < std::min(at + k, pull_ops.size()); ++i) {
        page["ops"].push_back(pull_ops[i]);
      }
      separate += encode_changeset_v2(page).size();
      stream.add(std::move(page), at + k >= pull_ops.size());
    }
    const double per = static_cast<double>(wire.size());
    frames[std::to_string(k) + "_ops"] = {
        {"stream_bytes_per_record", round2(stream.finish().size() / per)},
        {"separate_bytes_per_record", round2(separate / per)}};
  }
  out["pull_frames_zstd19"] = std::move(frames);
  return out;
}

}  // namespace lumbung::bench
