#pragma once

// The generated libbpf skeletons of the BPF objects (facts/bpf/*.bpf.c, built by CMake): C with
// casts and conversions our warnings refuse, so they are included here with those warnings off.
// Each skeleton names the types of its maps and globals: their ABI headers come first.
#include "facts/bpf/owners_abi.h"
#include "facts/bpf/probe_abi.h"
#include "facts/bpf/walk_abi.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wpedantic"
#if !defined(__clang__) // GCC only: clang (and clang-tidy) do not know it
#pragma GCC diagnostic ignored "-Wuseless-cast"
#endif
#include "facts/tw_owners.skel.h"
#include "facts/tw_probe.skel.h"
#include "facts/tw_walk.skel.h"
#pragma GCC diagnostic pop
