#pragma once

#include "model/boot.hpp"
#include "model/plan.hpp"

namespace tw::policy {

// Adds to plan what the boot configuration and the apply state mean for it: boot-drift,
// sysctld-unreadable, persist-overridden (over the generated file's settings after the plan's
// changes, as apply would write them) and apply-interrupted (first, with the first reason).
// Commands are named plainly (`tw-advisor rollback`); the CLI adds its --root/--state-dir.
void add_boot_findings(const BootFacts& boot, Plan& plan);

// Adds runtime-owns-key for each key a container runtime sets in this namespace (a pod's
// securityContext.sysctls) to another value than the plan's: its value comes back when the
// namespace is made again, or when that container starts. Adds runtime-config-unreadable (info)
// when the plan changes something and a runtime config on the node could not be read.
void add_namespace_boot_findings(const NamespaceBootFacts& boot, Plan& plan);

} // namespace tw::policy
