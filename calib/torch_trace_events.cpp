#include "calib/torch_trace_events.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/input_file.h"

namespace fathom::calib::torch_trace {
namespace {

using json = nlohmann::json;

// What a found value looks like in a message: its JSON type and, shortened, its text.
std::string describe(const json* found) {
  if (!found) return "nothing";
  const json& v = *found;
  std::string text = v.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(v.type_name()) + " " + text;
}

const json* find(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// Turns the JSON values of one event into a TraceEvent; every rejected field throws InputError
// naming the event and the field.
class EventDecoder {
 public:
  EventDecoder(const std::string& path, TraceEvents& out) : path_(path), out_(out) {}

  void set_bare_array() { out_.list_name = "events"; }

  // "traceEvents[12] ("aten::mm")"; kernel names run to hundreds of characters, the index is
  // what finds the event.
  std::string who(size_t index, const std::string& name) const {
    std::string w = out_.list_name + "[" + std::to_string(index) + "]";
    if (!name.empty()) w += " (\"" + (name.size() > 60 ? name.substr(0, 57) + "..." : name) + "\")";
    return w;
  }

  [[noreturn]] void fail(size_t index, const std::string& name, const std::string& field, const std::string& expected,
                         const json* found) const {
    throw InputError(path_, who(index, name) + ": expected \"" + field + "\" to be " + expected + ", found " +
                                describe(found));
  }

  [[noreturn]] void fail_event(size_t index, const json& found) const {
    throw InputError(path_, who(index, "") + ": expected an event object, found " + describe(&found));
  }

  void add_event(const json& e, size_t index, const std::string& raw_ts, const std::string& raw_dur) {
    const json* ph = find(e, "ph");
    if (ph && !ph->is_string()) fail(index, "", "ph", "a string", ph);
    if (!ph || ph->get_ref<const std::string&>() != "X") return;  // only complete events have durations
    const json* cat = find(e, "cat");
    if (!cat) return;
    if (!cat->is_string()) fail(index, "", "cat", "a string", cat);
    const std::string& c = cat->get_ref<const std::string&>();
    TraceEvent ev;
    if (c == "cpu_op" || c == "Operator") {
      ev.cat = EventCat::kCpuOp;
    } else if (c == "kernel" || c == "Kernel") {
      ev.cat = EventCat::kKernel;
    } else if (c == "cuda_runtime" || c == "cuda_driver" || c == "Runtime") {
      ev.cat = EventCat::kLaunch;
    } else {
      if (c == "gpu_memcpy" || c == "gpu_memset" || c == "Memcpy" || c == "Memset") ++out_.copies;
      return;
    }
    ev.index = index;
    const json* name = find(e, "name");
    if (!name || !name->is_string()) fail(index, "", "name", "a string", name);
    ev.name = name->get<std::string>();
    ev.ts_ns = micros(e, "ts", raw_ts, index, ev.name);
    ev.dur_ns = micros(e, "dur", raw_dur, index, ev.name);
    if (ev.dur_ns < 0) fail(index, ev.name, "dur", "a duration >= 0 (microseconds)", find(e, "dur"));
    const json* pid = find(e, "pid");
    const json* tid = find(e, "tid");
    ev.thread = (pid ? pid->dump() : "") + "/" + (tid ? tid->dump() : "");

    const json* args = find(e, "args");
    if (args && !args->is_object()) fail(index, ev.name, "args", "an object", args);
    if (args) decode_args(*args, ev);
    out_.events.push_back(std::move(ev));
  }

  void set_devices(const json& v) {
    if (v.is_null()) return;
    if (!v.is_array()) {
      throw InputError(path_, "expected \"deviceProperties\" to be an array of objects, found " + describe(&v));
    }
    for (size_t i = 0; i < v.size(); ++i) {
      const json& d = v[i];
      const std::string entry = "deviceProperties[" + std::to_string(i) + "]";
      if (!d.is_object()) throw InputError(path_, "expected " + entry + " to be an object, found " + describe(&d));
      auto integer = [&](const char* key) -> std::optional<int64_t> {
        const json* f = find(d, key);
        if (!f || f->is_null()) return std::nullopt;
        if (!is_int64(*f)) {
          throw InputError(path_, entry + ": expected \"" + key + "\" to be an integer, found " + describe(f));
        }
        return f->get<int64_t>();
      };
      auto text = [&](const char* key) -> std::string {
        const json* f = find(d, key);
        if (!f || f->is_null()) return "";
        if (!f->is_string()) throw InputError(path_, entry + ": expected \"" + key + "\" to be a string, found " + describe(f));
        return f->get<std::string>();
      };
      DeviceProps p;
      p.id = integer("id").value_or(static_cast<int64_t>(i));
      p.name = text("name");
      p.uuid = text("uuid");
      p.memory_bytes = integer("totalGlobalMem").value_or(0);
      // Kineto writes "numSms"; some tools copy CUDA's "multiProcessorCount".
      p.sm_count = integer("numSms").value_or(integer("multiProcessorCount").value_or(0));
      p.cc_major = integer("computeMajor");
      p.cc_minor = integer("computeMinor");
      out_.devices.push_back(std::move(p));
    }
  }

 private:
  static bool is_int64(const json& v) {
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    return v.is_number_integer();
  }

  int64_t micros(const json& e, const char* key, const std::string& raw, size_t index, const std::string& name) const {
    const json* v = find(e, key);
    if (!v || !v->is_number()) fail(index, name, key, "a number (microseconds)", v);
    // Below 2^62 ns (4.6e15 µs, the year 2116 as a Unix time) so that ts + dur cannot overflow.
    constexpr int64_t kLimitNs = int64_t{1} << 62;
    std::optional<int64_t> ns;
    if (v->is_number_float()) {
      ns = micros_text_to_ns(raw);
    } else if (is_int64(*v)) {
      const int64_t us = v->get<int64_t>();
      if (us > -kLimitNs / 1000 && us < kLimitNs / 1000) ns = us * 1000;
    }
    if (!ns || *ns <= -kLimitNs || *ns >= kLimitNs) fail(index, name, key, "a number of microseconds below 4.6e15", v);
    return *ns;
  }

  std::optional<int64_t> id_arg(const json& args, const char* key, const TraceEvent& ev) const {
    const json* v = find(args, key);
    if (!v || v->is_null()) return std::nullopt;
    if (!is_int64(*v)) fail(ev.index, ev.name, std::string("args.") + key, "an integer", v);
    return v->get<int64_t>();
  }

  void decode_args(const json& args, TraceEvent& ev) const {
    ev.external_id = id_arg(args, "External id", ev);
    ev.correlation = id_arg(args, "correlation", ev);
    if (ev.cat == EventCat::kCpuOp) {
      const json* dims = find(args, "Input Dims");
      std::string dims_key = "Input Dims";
      if (!dims) {  // PyTorch 1.8 spelling
        dims = find(args, "Input dims");
        dims_key = "Input dims";
      }
      if (dims) decode_dims(*dims, "args." + dims_key, ev);
      if (const json* types = find(args, "Input type")) {
        if (!types->is_array()) fail(ev.index, ev.name, "args.Input type", "a list of strings", types);
        for (const json& t : *types) {
          if (t.is_null()) {
            ev.types.emplace_back();
          } else if (t.is_string()) {
            ev.types.push_back(t.get<std::string>());
          } else {
            fail(ev.index, ev.name, "args.Input type", "a list of strings", types);
          }
        }
      }
      if (const json* concrete = find(args, "Concrete Inputs")) {
        if (!concrete->is_array()) fail(ev.index, ev.name, "args.Concrete Inputs", "a list", concrete);
        for (const json& c : *concrete) {
          // Strings in PyTorch 2.x ("True", "0.", "[4096]", "" for tensors); other scalars are
          // accepted as their text, anything nested as unknown.
          if (c.is_string()) {
            ev.concrete.push_back(c.get<std::string>());
          } else if (c.is_boolean()) {
            ev.concrete.emplace_back(c.get<bool>() ? "True" : "False");
          } else if (c.is_number()) {
            ev.concrete.push_back(c.dump());
          } else {
            ev.concrete.emplace_back();
          }
        }
      }
    } else if (ev.cat == EventCat::kKernel) {
      ev.device = id_arg(args, "device", ev);
      ev.grid = geometry(args, "grid", ev);
      ev.block = geometry(args, "block", ev);
    }
  }

  // "Input Dims": one list per argument; a tensor's is its sizes, a Scalar's or None's is empty,
  // a list of tensors' is a list of size lists.
  void decode_dims(const json& dims, const std::string& field, TraceEvent& ev) const {
    if (!dims.is_array()) fail(ev.index, ev.name, field, "a list of size lists", &dims);
    ev.has_dims = true;
    for (size_t a = 0; a < dims.size(); ++a) {
      const json& arg = dims[a];
      const std::string here = field + "[" + std::to_string(a) + "]";
      if (!arg.is_array()) fail(ev.index, ev.name, here, "a list of sizes", &arg);
      if (std::any_of(arg.begin(), arg.end(), [](const json& x) { return x.is_array(); })) {
        ev.dims.emplace_back(std::nullopt);
        continue;
      }
      std::vector<int64_t> sizes;
      sizes.reserve(arg.size());
      for (const json& x : arg) {
        if (!is_int64(x) || x.get<int64_t>() < 0) fail(ev.index, ev.name, here, "a list of sizes (integers >= 0)", &arg);
        sizes.push_back(x.get<int64_t>());
      }
      ev.dims.emplace_back(std::move(sizes));
    }
  }

  std::string geometry(const json& args, const char* key, const TraceEvent& ev) const {
    const json* v = find(args, key);
    if (!v || v->is_null()) return "";
    const std::string field = std::string("args.") + key;
    if (!v->is_array() || v->size() != 3) fail(ev.index, ev.name, field, "a list of 3 integers", v);
    std::string s;
    for (const json& x : *v) {
      if (!is_int64(x)) fail(ev.index, ev.name, field, "a list of 3 integers", v);
      if (!s.empty()) s += ',';
      s += std::to_string(x.get<int64_t>());
    }
    return s;
  }

  const std::string& path_;
  TraceEvents& out_;
};

// SAX handler (nlohmann's json_sax interface, matched by signature). Outside the events it
// builds nothing but "deviceProperties"; each event object is built as a small JSON value,
// decoded and dropped.
class TraceSax {
 public:
  TraceSax(const std::string& path, const std::string& text, EventDecoder& decoder)
      : path_(path), text_(text), decoder_(decoder) {}

  bool saw_events() const { return saw_events_; }

  bool null() { return scalar(json(nullptr)); }
  bool boolean(bool v) { return scalar(json(v)); }
  bool number_integer(json::number_integer_t v) { return scalar(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return scalar(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t& text) {
    if (target_ == Target::kEvent && capture_.size() == 1) {
      if (key_ == "ts") raw_ts_ = text;
      if (key_ == "dur") raw_dur_ = text;
    }
    return scalar(json(v));
  }
  bool string(json::string_t& v) { return scalar(json(std::move(v))); }
  bool binary(json::binary_t&) { return scalar(json(nullptr)); }  // never produced by JSON text
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (!capture_.empty()) {
      key_ = k;
    } else if (!frames_.empty() && frames_.back() == Frame::kRoot) {
      top_key_ = k;
    }
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*last_token*/, const std::exception& ex) {
    // `position` counts the characters read; the last of them is where the parser stopped.
    const size_t at = std::min(position, text_.size());
    const size_t idx = at > 0 ? at - 1 : 0;
    const size_t line = 1 + static_cast<size_t>(std::count(text_.begin(), text_.begin() + static_cast<long>(idx), '\n'));
    const size_t nl = idx == 0 ? std::string::npos : text_.rfind('\n', idx - 1);
    const size_t column = idx - (nl == std::string::npos ? 0 : nl + 1) + 1;
    // nlohmann's text: "[json.exception.parse_error.101] parse error at line 3, column 5: syntax
    // error while parsing ..."; keep what follows the position.
    std::string detail = ex.what();
    if (size_t p = detail.find("] "); p != std::string::npos) detail = detail.substr(p + 2);
    if (detail.rfind("parse error", 0) == 0) {
      if (size_t p = detail.find(": "); p != std::string::npos) detail = detail.substr(p + 2);
    }
    throw InputError(path_ + ":" + std::to_string(line),
                     "expected valid JSON, found a syntax error at column " + std::to_string(column) + " (" + detail + ")");
  }

 private:
  enum class Frame { kRoot, kEvents, kSkip };
  enum class Target { kNone, kEvent, kDevices };

  [[noreturn]] void fail_root(const std::string& expected, const json& found) const {
    throw InputError(path_, "expected " + expected + ", found " + describe(&found));
  }

  // Where a value that starts now (not inside a captured one) goes.
  bool place(json v, bool container) {
    if (frames_.empty()) {
      if (root_seen_) fail_root("one JSON value", v);
      root_seen_ = true;
      if (v.is_object()) {
        frames_.push_back(Frame::kRoot);
      } else if (v.is_array()) {
        frames_.push_back(Frame::kEvents);
        decoder_.set_bare_array();
        saw_events_ = true;
      } else {
        fail_root("a Chrome trace: a JSON object with \"traceEvents\" or an array of events", v);
      }
      return true;
    }
    switch (frames_.back()) {
      case Frame::kRoot:
        if (top_key_ == "traceEvents") {
          if (!v.is_array()) fail_root("\"traceEvents\" to be an array of events", v);
          frames_.push_back(Frame::kEvents);
          saw_events_ = true;
        } else if (top_key_ == "deviceProperties") {
          begin_capture(std::move(v), Target::kDevices, container);
        } else if (container) {
          frames_.push_back(Frame::kSkip);
        }
        return true;
      case Frame::kEvents: {
        const size_t index = next_index_++;
        if (!v.is_object()) decoder_.fail_event(index, v);
        event_index_ = index;
        raw_ts_.clear();
        raw_dur_.clear();
        begin_capture(std::move(v), Target::kEvent, container);
        return true;
      }
      case Frame::kSkip:
        if (container) frames_.push_back(Frame::kSkip);
        return true;
    }
    return true;
  }

  void begin_capture(json v, Target target, bool container) {
    captured_ = std::move(v);
    target_ = target;
    capture_.assign(1, &captured_);
    if (!container) finish_capture();
  }

  void finish_capture() {
    capture_.clear();
    const Target t = target_;
    target_ = Target::kNone;
    if (t == Target::kEvent) decoder_.add_event(captured_, event_index_, raw_ts_, raw_dur_);
    if (t == Target::kDevices) decoder_.set_devices(captured_);
    captured_ = json();
  }

  void add_captured(json v, bool container) {
    json* parent = capture_.back();
    json* slot = nullptr;
    if (parent->is_array()) {
      parent->push_back(std::move(v));
      slot = &parent->back();
    } else {
      slot = &(*parent)[key_];
      *slot = std::move(v);
    }
    if (container) capture_.push_back(slot);
  }

  bool scalar(json v) {
    if (!capture_.empty()) {
      add_captured(std::move(v), false);
      return true;
    }
    return place(std::move(v), false);
  }

  bool open(json v) {
    if (!capture_.empty()) {
      add_captured(std::move(v), true);
      return true;
    }
    return place(std::move(v), true);
  }

  bool close() {
    if (!capture_.empty()) {
      capture_.pop_back();
      if (capture_.empty()) finish_capture();
      return true;
    }
    if (!frames_.empty()) frames_.pop_back();
    return true;
  }

  const std::string& path_;
  const std::string& text_;
  EventDecoder& decoder_;
  std::vector<Frame> frames_;
  std::string top_key_;
  bool root_seen_ = false, saw_events_ = false;
  size_t next_index_ = 0, event_index_ = 0;
  Target target_ = Target::kNone;
  json captured_;
  std::vector<json*> capture_;
  std::string key_, raw_ts_, raw_dur_;
};

std::string read_file(const std::string& path) {
  return read_input_file(path, InputKind::kTable, "trace file");
}

}  // namespace

std::optional<int64_t> micros_text_to_ns(const std::string& t) {
  const size_t n = t.size();
  size_t i = 0;
  const bool negative = i < n && t[i] == '-';
  if (negative) ++i;
  auto digit = [&](size_t j) { return j < n && t[j] >= '0' && t[j] <= '9'; };
  std::string digits;
  while (digit(i)) digits += t[i++];
  if (digits.empty()) return std::nullopt;
  long frac = 0;
  if (i < n && t[i] == '.') {
    ++i;
    while (digit(i)) {
      digits += t[i++];
      ++frac;
    }
    if (frac == 0) return std::nullopt;
  }
  long exponent = 0;
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    const bool eneg = i < n && t[i] == '-';
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digit(i)) return std::nullopt;
    while (digit(i)) exponent = std::min(exponent * 10 + (t[i++] - '0'), 100000L);
    if (eneg) exponent = -exponent;
  }
  if (i != n) return std::nullopt;
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  if (digits.empty()) return 0;
  // value = digits × 10^shift nanoseconds (microseconds × 10^3)
  const long shift = exponent - frac + 3;
  bool round_up = false;
  if (shift < 0) {
    const size_t drop = static_cast<size_t>(-shift);
    if (drop > digits.size()) return 0;
    round_up = digits[digits.size() - drop] >= '5';
    digits.resize(digits.size() - drop);
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t v = 0;
  for (char c : digits) {
    if (v > (kMax - 9) / 10) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (round_up) ++v;
  for (long s = 0; s < shift; ++s) {
    if (v > kMax / 10) return std::nullopt;
    v *= 10;
  }
  if (v > kMax) return std::nullopt;
  return negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
}

TraceEvents read_trace_events(const std::string& path) {
  const std::string text = read_file(path);
  if (text.size() >= 2 && static_cast<unsigned char>(text[0]) == 0x1f && static_cast<unsigned char>(text[1]) == 0x8b) {
    throw InputError(path, "expected a JSON trace, found a gzip-compressed file (decompress it first: gunzip -k)");
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw InputError(path, "expected a Chrome trace (a JSON object with \"traceEvents\"), found an empty file");
  }
  TraceEvents out;
  EventDecoder decoder(path, out);
  TraceSax sax(path, text, decoder);
  json::sax_parse(text.begin(), text.end(), &sax);  // parse errors throw from TraceSax::parse_error
  if (!sax.saw_events()) {
    throw InputError(path, "expected a Chrome trace with a \"traceEvents\" array, found an object without one");
  }
  return out;
}

}  // namespace fathom::calib::torch_trace
