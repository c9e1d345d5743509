// Checks that the embedded Metal source (compiled in embedded_source_as_cpp.cpp) exports exactly
// the kernels the host asks for: for every scheme in AllSchemes, its decode, prefill and
// backward kernel under the name kernel_names.hpp builds, and nothing else.

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <type_traits>

#include "msl_types.hpp"
#include "qlinear/backends/metal/kernel_names.hpp"
#include "qlinear/schemes/registry.hpp"

int main() {
  using qlinear::AllSchemes;
  using qlinear::TypeList;
  namespace qm = qlinear::metal;
  const std::vector<std::string>& exported = qlinear_msl_kernel_names();
  std::set<std::string> have(exported.begin(), exported.end()), want;
  int failures = 0;
  if (have.size() != exported.size()) {
    std::fprintf(stderr, "the embedded source exports some kernel name twice (%zu names, %zu distinct)\n",
                 exported.size(), have.size());
    ++failures;
  }
  [&]<class... S>(TypeList<S...>) {
    (([&] {
       for (auto kind : {qm::KernelKind::decode, qm::KernelKind::prefill, qm::KernelKind::backward})
         want.insert(qm::kernel_name<S>(kind));
     })(),
     ...);
  }(AllSchemes{});
  for (const std::string& n : want)
    if (!have.count(n)) std::fprintf(stderr, "the host asks for %s, which the embedded source lacks\n", n.c_str()), ++failures;
  for (const std::string& n : have)
    if (!want.count(n)) std::fprintf(stderr, "the embedded source exports %s, which no scheme of AllSchemes names\n", n.c_str()), ++failures;
  if (failures) return 1;
  std::printf("the embedded Metal source compiles as C++14 and exports the %zu kernels the host names\n", have.size());
  return 0;
}
