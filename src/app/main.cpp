// starling CONFIG: starts a node from a skynet-style config file. Native services other than
// the built-in ones come from cpath (docs/API.md, "Native modules").

#include "app/run.hpp"

int main(int argc, char** argv) {
  return starling::run_node(argc, argv);
}
