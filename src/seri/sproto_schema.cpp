#include "seri/sproto_schema.hpp"

#include <algorithm>
#include <new>
#include <string>

#include "seri/sproto_wire.hpp"

namespace starling::sproto {

namespace {

// Tags of the bundle's own records (the bundle is itself a sproto message).
enum group_tag : int { group_types = 0, group_protocols = 1 };
enum type_tag : int { type_name = 0, type_fields = 1 };
enum field_tag : int {
  field_name = 0,
  field_builtin = 1,
  field_type = 2,
  field_number = 3,
  field_array = 4,
  field_key = 5,
  field_map = 6
};
enum protocol_tag : int {
  proto_name = 0,
  proto_tag = 1,
  proto_request = 2,
  proto_response = 3,
  proto_confirm = 4
};

constexpr int max_decimal_digits = 18;  // 10^18 is the largest power of ten an int64 holds

// Counts the u32-length-prefixed blocks of an array; -1 when they overrun it.
int count_blocks(std::string_view data) {
  int n = 0;
  std::string_view block;
  while (!data.empty()) {
    if (!wire::next_block(data, block)) return -1;
    ++n;
  }
  return n;
}

kind builtin_kind(std::int64_t code) {
  switch (code) {
    case 0:
      return kind::integer;
    case 1:
      return kind::boolean;
    case 2:
      return kind::string;
    default:
      return kind::real;
  }
}

std::int64_t power_of_ten(std::int64_t n) {
  std::int64_t r = 1;
  for (std::int64_t i = 0; i < n; ++i)
    r *= 10;
  return r;
}

bool read_field(std::string_view bytes, std::span<const type> types, field& f) {
  wire::struct_reader r;
  if (!r.open(bytes)) return false;
  bool named = false;
  bool tagged = false;
  bool builtin = false;
  std::int64_t type_value = -1;
  wire::entry e;
  while (r.next(e)) {
    if (e.tag == field_name) {
      if (!e.has_data) return false;
      f.name = std::string(e.data);
      named = true;
      continue;
    }
    if (e.has_data) return false;
    switch (e.tag) {
      case field_builtin:
        if (e.value > 3) return false;
        f.what = builtin_kind(e.value);
        builtin = true;
        break;
      case field_type:
        type_value = e.value;
        break;
      case field_number:
        f.tag = static_cast<int>(e.value);
        tagged = true;
        break;
      case field_array:
        f.array = e.value != 0;
        break;
      case field_key:
        f.key = static_cast<int>(e.value);
        break;
      case field_map:
        f.map = e.value != 0;
        break;
      default:
        return false;
    }
  }
  if (type_value >= 0) {
    if (builtin && f.what == kind::integer) {
      if (type_value > max_decimal_digits) return false;
      f.decimal = power_of_ten(type_value);
    } else if (builtin && f.what == kind::string) {
      f.binary = type_value == 1;
    } else if (!builtin) {
      if (type_value >= static_cast<std::int64_t>(types.size())) return false;
      f.what = kind::structure;
      f.st = &types[static_cast<std::size_t>(type_value)];
    }
  }
  const bool typed = builtin || f.st != nullptr;
  return named && tagged && typed;
}

bool read_type(std::string_view bytes, std::span<const type> types, type& t) {
  wire::struct_reader r;
  if (!r.open(bytes)) return false;
  bool named = false;
  unsigned seen = 0;
  wire::entry e;
  while (r.next(e)) {
    ++seen;
    if (!e.has_data || e.tag > type_fields) return false;
    if (e.tag == type_name) {
      t.name = std::string(e.data);
      named = true;
      continue;
    }
    const int n = count_blocks(e.data);
    if (n < 0) return false;
    t.fields.resize(static_cast<std::size_t>(n));
    std::string_view rest = e.data;
    std::string_view block;
    int last = -1;
    for (field& f : t.fields) {
      if (!wire::next_block(rest, block) || !read_field(block, types, f)) return false;
      if (f.tag <= last) return false;  // tags strictly ascending
      last = f.tag;
    }
  }
  return named && seen == r.entry_count();  // no skip entries in a type record
}

bool read_protocol(std::string_view bytes, std::span<const type> types, protocol& p) {
  wire::struct_reader r;
  if (!r.open(bytes)) return false;
  bool named = false;
  bool tagged = false;
  wire::entry e;
  auto type_at = [&](std::int64_t index) -> const type* {
    if (index < 0 || index >= static_cast<std::int64_t>(types.size())) return nullptr;
    return &types[static_cast<std::size_t>(index)];
  };
  while (r.next(e)) {
    if (e.tag == proto_name) {
      if (!e.has_data) return false;
      p.name = std::string(e.data);
      named = true;
      continue;
    }
    if (e.has_data) return false;
    switch (e.tag) {
      case proto_tag:
        p.tag = static_cast<int>(e.value);  // inline values are at most 32766
        tagged = true;
        break;
      case proto_request:
        p.request = type_at(e.value);
        if (p.request == nullptr) return false;
        break;
      case proto_response:
        p.response = type_at(e.value);
        if (p.response == nullptr) return false;
        break;
      case proto_confirm:
        p.confirm = e.value != 0;
        break;
      default:
        return false;
    }
  }
  return named && tagged;
}

}  // namespace

const field* type::find(int tag) const {
  auto it = std::lower_bound(fields.begin(), fields.end(), tag,
                             [](const field& f, int t) { return f.tag < t; });
  return it != fields.end() && it->tag == tag ? &*it : nullptr;
}

const field* type::find(std::string_view field_name) const {
  for (const field& f : fields) {
    if (f.name == field_name) return &f;
  }
  return nullptr;
}

std::unique_ptr<schema> schema::load(std::string_view bundle) {
  std::unique_ptr<schema> s(new (std::nothrow) schema);
  if (s == nullptr || !s->read(bundle)) return nullptr;
  return s;
}

bool schema::read(std::string_view bundle) {
  // skynet refuses bundles under 4 bytes, the empty schema's `0000` included.
  if (bundle.size() < 4) return false;
  wire::struct_reader r;
  if (!r.open(bundle)) return false;
  std::string_view type_data;
  std::string_view protocol_data;
  unsigned seen = 0;
  wire::entry e;
  while (r.next(e)) {
    ++seen;
    if (!e.has_data || e.tag > group_protocols) return false;
    (e.tag == group_types ? type_data : protocol_data) = e.data;
  }
  if (seen != r.entry_count()) return false;  // no skip entries in the group
  const int type_count = count_blocks(type_data);
  const int protocol_count = count_blocks(protocol_data);
  if (type_count < 0 || protocol_count < 0) return false;
  types_.resize(static_cast<std::size_t>(type_count));
  protocols_.resize(static_cast<std::size_t>(protocol_count));
  std::string_view block;
  for (type& t : types_) {
    if (!wire::next_block(type_data, block) || !read_type(block, types_, t)) return false;
  }
  for (protocol& p : protocols_) {
    if (!wire::next_block(protocol_data, block) || !read_protocol(block, types_, p)) return false;
  }
  return true;
}

const type* schema::find_type(std::string_view name) const {
  for (const type& t : types_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const protocol* schema::find_protocol(int tag) const {
  for (const protocol& p : protocols_) {
    if (p.tag == tag) return &p;
  }
  return nullptr;
}

const protocol* schema::find_protocol(std::string_view name) const {
  for (const protocol& p : protocols_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

namespace {

std::string_view field_type_name(const field& f) {
  switch (f.what) {
    case kind::integer:
      return f.decimal != 0 ? "decimal" : "integer";
    case kind::boolean:
      return "boolean";
    case kind::string:
      return f.binary ? "binary" : "string";
    case kind::real:
      return "double";
    case kind::structure:
      return f.st->name;
  }
  return "?";
}

}  // namespace

std::string schema::dump() const {
  // Built with append: GCC 12 warns falsely (-Wrestrict) on chains of string operator+.
  std::string out;
  auto add = [&out](std::string_view part) { out.append(part); };
  add("=== ");
  add(std::to_string(types_.size()));
  add(" types ===\n");
  for (const type& t : types_) {
    add(t.name);
    add("\n");
    for (const field& f : t.fields) {
      add("\t");
      add(f.name);
      add(" (");
      add(std::to_string(f.tag));
      add(") ");
      if (f.array) add("*");
      add(field_type_name(f));
      if (f.key >= 0) {
        add("(");
        add(std::to_string(f.key));
        add(")");
      }
      if (f.map) add("()");
      if (f.decimal != 0) {
        add("(");
        add(std::to_string(f.decimal));
        add(")");
      }
      add("\n");
    }
  }
  add("=== ");
  add(std::to_string(protocols_.size()));
  add(" protocols ===\n");
  for (const protocol& p : protocols_) {
    add("\t");
    add(p.name);
    add(" (");
    add(std::to_string(p.tag));
    add(")");
    if (p.request != nullptr) {
      add(" request:");
      add(p.request->name);
    }
    if (p.response != nullptr) {
      add(" response:");
      add(p.response->name);
    }
    if (p.confirm) add(" response nil");
    add("\n");
  }
  return out;
}

}  // namespace starling::sproto
