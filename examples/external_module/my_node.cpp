// An executable of one's own: `my_node CONFIG` runs a node like `starling CONFIG` does, with
// the greeter linked in as the module "greeter_inside" (cpath is still searched for others).

#include "actor/actor.hpp"
#include "app/run.hpp"
#include "greeter.hpp"

int main(int argc, char** argv) {
  return starling::run_node(argc, argv, [](starling::module_registry& modules) {
    starling::register_actor<external::greeter>(modules, "greeter_inside");
  });
}
