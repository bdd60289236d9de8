#include "seri/sproto_slots.hpp"

#include <array>
#include <utility>
#include <vector>

#include "base/mutex.hpp"

namespace starling::sproto::slots {

namespace {

struct store {
  mutex lock;
  std::array<const schema*, count> slot GUARDED_BY(lock) = {};
  std::vector<std::unique_ptr<schema>> kept GUARDED_BY(lock);  // every schema ever saved
};

store& the_store() {
  static store instance;  // NOLINT(*-avoid-non-const-global-variables)
  return instance;
}

}  // namespace

void save(int index, std::unique_ptr<schema> s) {
  store& st = the_store();
  const mutex_lock hold(st.lock);
  const schema* saved = s.get();
  const auto at = static_cast<std::size_t>(index);
  if (at >= st.slot.size()) return;
  if (s != nullptr) st.kept.push_back(std::move(s));  // first: it may throw
  st.slot[at] = saved;
}

const schema* load(int index) {
  store& st = the_store();
  const mutex_lock hold(st.lock);
  const auto at = static_cast<std::size_t>(index);
  return at < st.slot.size() ? st.slot[at] : nullptr;
}

}  // namespace starling::sproto::slots
