// tw-nat-probe: reads only the NAT evidence (conntrack scan and NAT rules) with the advisor's
// own code, so bench/run can time that part alone on a large conntrack table, apart from the
// rest of `plan`.
//
//   tw-nat-probe [--cap N]
//       N is the most conntrack entries scanned (default: the advisor's default cap). Prints
//       one line of key=value pairs: available, scanned, snat, dnat, cap, cap_hit, rules,
//       random_fully, note. Exits 0.
#include "facts/nat.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv)
{
  std::uint64_t cap = tw::k_default_conntrack_cap;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--cap" && i + 1 < argc) {
      cap = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: tw-nat-probe [--cap N]\n");
      return 2;
    }
  }
  const tw::NatEvidence e = tw::read_nat_evidence("/proc", cap);
  std::printf("available=%d scanned=%llu snat=%llu dnat=%llu cap=%llu cap_hit=%d rules=%zu random_fully=%d "
              "note=\"%s\"\n",
              e.conntrack_available ? 1 : 0,
              static_cast<unsigned long long>(e.entries_scanned),
              static_cast<unsigned long long>(e.snat_entries),
              static_cast<unsigned long long>(e.dnat_entries),
              static_cast<unsigned long long>(e.cap),
              e.cap_hit ? 1 : 0,
              e.nat_rules.size(),
              e.random_fully ? 1 : 0,
              e.conntrack_note.c_str());
  return 0;
}
