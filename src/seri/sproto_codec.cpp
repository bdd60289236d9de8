#include "seri/sproto_codec.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "seri/sproto_wire.hpp"

namespace starling::sproto {

namespace {

// ---- encoding ------------------------------------------------------------------

const char* kind_name(const value& v) {
  switch (v.get().index()) {
    case 0:
      return "nil";
    case 1:
      return "boolean";
    case 2:
    case 3:
      return "number";
    case 4:
      return "string";
    default:
      return "table";
  }
}

[[noreturn]] void wrong(const type& t, const field& f, std::size_t index, const char* expected,
                        const value& v) {
  throw error(t.name + "." + f.name + "[" + std::to_string(index) + "] is not " + expected +
              " (Is a " + kind_name(v) + ")");
}

std::int64_t integer_value(const type& t, const field& f, std::size_t index, const value& v) {
  if (f.decimal != 0) {
    double d = 0;
    if (const auto* i = v.as<std::int64_t>()) d = static_cast<double>(*i);
    if (const auto* r = v.as<double>()) d = *r;
    const std::optional<std::int64_t> wire = scaled_decimal(d, f.decimal);
    if (!wire) wrong(t, f, index, "a number", v);
    return *wire;
  }
  if (const auto* i = v.as<std::int64_t>()) return *i;
  if (const auto* r = v.as<double>()) {
    // A float with an exact integer value is accepted, as Lua's integer conversion does.
    if (std::floor(*r) == *r && *r >= -0x1p63 && *r < 0x1p63) return static_cast<std::int64_t>(*r);
  }
  wrong(t, f, index, "an integer", v);
}

double real_value(const value& v) {
  if (const auto* i = v.as<std::int64_t>()) return static_cast<double>(*i);
  if (const auto* r = v.as<double>()) return *r;
  return 0;  // as Lua's number conversion of a non-number
}

void append_real(std::string& out, double d) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  wire::append_u64(out, bits);
}

void check_size(const std::string& out) {
  if (out.size() > max_encoded_size) throw error("object is too large (>16777216)");
}

void encode_struct(std::string& out, const type& t, const object& v, int depth);

const object& struct_value(const type& t, const field& f, std::size_t index, const value& v) {
  const auto* o = v.as<object>();
  if (o == nullptr) wrong(t, f, index, "a table", v);
  return *o;
}

void encode_array(std::string& out, const type& t, const field& f, const array& items, int depth) {
  std::size_t index = 0;
  switch (f.what) {
    case kind::integer: {
      wire::integer_array_writer w(out);
      for (const value& item : items)
        w.add(integer_value(t, f, ++index, item));
      return;
    }
    case kind::real:
      if (items.empty()) return;
      out.push_back(8);
      for (const value& item : items)
        append_real(out, real_value(item));
      return;
    case kind::boolean:
      for (const value& item : items) {
        const bool* b = item.as<bool>();
        ++index;
        if (b == nullptr) wrong(t, f, index, "a boolean", item);
        out.push_back(*b ? 1 : 0);
      }
      return;
    case kind::string:
      for (const value& item : items) {
        const auto* s = item.as<std::string>();
        ++index;
        if (s == nullptr) wrong(t, f, index, "a string", item);
        wire::append_u32(out, static_cast<std::uint32_t>(s->size()));
        out.append(*s);
        check_size(out);
      }
      return;
    case kind::structure:
      for (const value& item : items) {
        const object& o = struct_value(t, f, ++index, item);
        const std::size_t at = out.size();
        wire::append_u32(out, 0);
        encode_struct(out, *f.st, o, depth + 1);
        wire::put_u32(out, at, static_cast<std::uint32_t>(out.size() - at - wire::length_size));
      }
      return;
  }
}

void encode_field(wire::struct_writer& w, std::string& out, const type& t, const field& f,
                  const value& v, int depth) {
  if (f.array) {
    const auto* items = v.as<array>();
    if (items == nullptr) {
      throw error(t.name + "." + f.name +
                  "(1) should be a table or an userdata with metamethods (Is a " + kind_name(v) +
                  ")");
    }
    const std::size_t at = w.begin_data(f.tag);
    encode_array(out, t, f, *items, depth);
    w.end_data(at);
    check_size(out);
    return;
  }
  switch (f.what) {
    case kind::integer:
      w.put_integer(f.tag, integer_value(t, f, 0, v));
      return;
    case kind::boolean: {
      const bool* b = v.as<bool>();
      if (b == nullptr) wrong(t, f, 0, "a boolean", v);
      w.put_inline(f.tag, *b ? 1 : 0);
      return;
    }
    case kind::real: {
      const std::size_t at = w.begin_data(f.tag);
      append_real(out, real_value(v));
      w.end_data(at);
      return;
    }
    case kind::string: {
      const auto* s = v.as<std::string>();
      if (s == nullptr) wrong(t, f, 0, "a string", v);
      const std::size_t at = w.begin_data(f.tag);
      out.append(*s);
      w.end_data(at);
      check_size(out);
      return;
    }
    case kind::structure: {
      const object& o = struct_value(t, f, 0, v);
      const std::size_t at = w.begin_data(f.tag);
      encode_struct(out, *f.st, o, depth + 1);
      w.end_data(at);
      return;
    }
  }
}

void encode_struct(std::string& out, const type& t, const object& v, int depth) {
  if (depth >= max_depth) throw error("The table is too deep");
  wire::struct_writer w(out, t.max_entries());
  for (const field& f : t.fields) {
    auto it = v.find(f.name);
    if (it == v.end() || it->second.is_nil()) continue;
    encode_field(w, out, t, f, it->second, depth);
  }
  w.finish();
}

// ---- decoding ------------------------------------------------------------------

[[noreturn]] void bad() {
  throw error("decode error");
}

object decode_exact(const type& t, std::string_view bytes, int depth);

value integer_of(const field& f, std::int64_t v) {
  if (f.decimal != 0) return static_cast<double>(v) / static_cast<double>(f.decimal);
  return v;
}

void check_map_element(const field& f, const object& element) {
  if (f.map) {
    if (f.st->fields.size() != 2) bad();
    if (!element.contains(f.st->fields[0].name))
      throw error("Can't find key field in [" + f.name + "]");
    if (!element.contains(f.st->fields[1].name))
      throw error("Can't find value field in [" + f.name + "]");
    return;
  }
  const field* key = f.st->find(f.key);
  if (key == nullptr || !element.contains(key->name)) {
    throw error("Can't find main index (tag=" + std::to_string(f.key) + ") in [" + f.name + "]");
  }
}

array decode_array(const field& f, std::string_view data, int depth) {
  array items;
  switch (f.what) {
    case kind::integer:
    case kind::real: {
      std::size_t width = 0;
      std::size_t count = 0;
      if (!wire::number_array_of(data, f.what == kind::real, width, count)) bad();
      for (std::size_t i = 0; i < count; ++i) {
        const std::int64_t raw = wire::number_element(data, width, i);
        if (f.what == kind::real) {
          double d = 0;
          std::memcpy(&d, &raw, sizeof d);
          items.emplace_back(d);
        } else {
          items.push_back(integer_of(f, raw));
        }
      }
      return items;
    }
    case kind::boolean:
      for (char c : data)
        items.emplace_back(c != 0);
      return items;
    case kind::string:
    case kind::structure: {
      std::string_view block;
      while (!data.empty()) {
        if (!wire::next_block(data, block)) bad();
        if (f.what == kind::string) {
          items.emplace_back(std::string(block));
          continue;
        }
        object element = decode_exact(*f.st, block, depth + 1);
        if (f.key >= 0 || f.map) check_map_element(f, element);
        items.emplace_back(std::move(element));
      }
      return items;
    }
  }
  return items;
}

value decode_field(const field& f, const wire::entry& e, int depth) {
  if (f.array) {
    if (!e.has_data) bad();
    return decode_array(f, e.data, depth);
  }
  if (!e.has_data) {
    switch (f.what) {
      case kind::integer:
        return integer_of(f, e.value);
      case kind::boolean:
        return e.value != 0;
      default:
        bad();
    }
  }
  switch (f.what) {
    case kind::integer: {
      std::int64_t v = 0;
      if (!wire::integer_of(e.data, v)) bad();
      return integer_of(f, v);
    }
    case kind::real: {
      double d = 0;
      if (!wire::real_of(e.data, d)) bad();
      return d;
    }
    case kind::string:
      return std::string(e.data);
    case kind::structure:
      return decode_exact(*f.st, e.data, depth + 1);
    case kind::boolean:
      break;
  }
  bad();
}

object decode_struct(const type& t, std::string_view bytes, int depth, std::size_t& size) {
  if (depth >= max_depth) throw error("The table is too deep");
  wire::struct_reader r;
  if (!r.open(bytes)) bad();
  object out;
  wire::entry e;
  while (r.next(e)) {
    const field* f = t.find(e.tag);
    if (f == nullptr) continue;
    out.insert_or_assign(f->name, decode_field(*f, e, depth));
  }
  size = r.size();
  return out;
}

// A nested struct must take exactly its block.
object decode_exact(const type& t, std::string_view bytes, int depth) {
  std::size_t size = 0;
  object out = decode_struct(t, bytes, depth, size);
  if (size != bytes.size()) bad();
  return out;
}

}  // namespace

std::string encode(const type& t, const object& v) {
  std::string out;
  encode_struct(out, t, v, 0);
  return out;
}

decoded decode(const type& t, std::string_view bytes) {
  decoded d;
  d.value = decode_struct(t, bytes, 0, d.size);
  return d;
}

std::optional<std::int64_t> scaled_decimal(double value, std::int64_t scale) noexcept {
  const double scaled = std::round(value * static_cast<double>(scale));
  if (std::isnan(scaled)) return std::nullopt;
  // Converting a double beyond int64 is undefined behaviour.
  if (scaled >= 0x1p63) return std::numeric_limits<std::int64_t>::max();
  if (scaled < -0x1p63) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(scaled);
}

}  // namespace starling::sproto
