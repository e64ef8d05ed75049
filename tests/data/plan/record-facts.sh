#!/usr/bin/env bash
# Records the facts fixtures of the plan CLI golden tests (tests/data/plan/facts/*.json) from real
# workloads in throwaway network namespaces: `tw-advisor plan --format json` keeps the facts and
# the socket census, which `plan --facts FILE` judges again deterministically.
# Usage (root): tests/data/plan/record-facts.sh BUILD_DIR
# Touches only namespaces it makes (198.18.250.0/24), removed on exit.
set -euo pipefail
build="${1:?usage: $0 BUILD_DIR}"
advisor="$build/tw-advisor"
loadgen="$build/tests/tw-loadgen"
out="$(cd "$(dirname "$0")" && pwd)/facts"
tag="twa-rec-$$"
c="$tag-c"
s="$tag-s"
cleanup() {
  for ns in "$c" "$s"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap cleanup EXIT

setup() {
  cleanup
  ip netns add "$c"
  ip netns add "$s"
  ip -n "$c" link set lo up
  ip -n "$s" link set lo up
  ip -n "$c" link add eth0 type veth peer name eth0 netns "$s"
  ip -n "$c" addr add 198.18.250.1/24 dev eth0
  ip -n "$s" addr add 198.18.250.2/24 dev eth0
  ip -n "$c" link set eth0 up
  ip -n "$s" link set eth0 up
}

server() { # close_first?
  timeout 120 ip netns exec "$s" "$loadgen" server --bind 198.18.250.2 --port 8080 --timeout-ms 100000 $1 >/dev/null &
  sleep 0.5
}

record() { # ns name
  ip netns exec "$1" "$advisor" plan --format json > "$out/$2.json"
  echo "recorded $out/$2.json: $(grep -m1 '"verdict"' "$out/$2.json")"
}

# web server: the server closes first, inbound TIME_WAIT on its side
setup
server --close-first
ip netns exec "$c" "$loadgen" client --connect 198.18.250.2 --port 8080 --count 300 >/dev/null
record "$s" web-server

# API client out of ports: 1000-port range, reuse off
setup
ip netns exec "$c" sysctl -qw net.ipv4.ip_local_port_range="40000 40999" net.ipv4.tcp_tw_reuse=0
server ""
ip netns exec "$c" "$loadgen" client --connect 198.18.250.2 --port 8080 --count 1100 --close-first >/dev/null
record "$c" stuck-client

# the same with timestamps off
setup
ip netns exec "$c" sysctl -qw net.ipv4.ip_local_port_range="40000 40999" net.ipv4.tcp_tw_reuse=0 \
  net.ipv4.tcp_timestamps=0
server ""
ip netns exec "$c" "$loadgen" client --connect 198.18.250.2 --port 8080 --count 1100 --close-first >/dev/null
record "$c" timestamps-off

# the same behind SNAT to a second address, random-fully
setup
ip netns exec "$c" sysctl -qw net.ipv4.ip_local_port_range="40000 40999" net.ipv4.tcp_tw_reuse=0
ip -n "$c" addr add 198.18.250.3/24 dev eth0
ip netns exec "$c" nft add table ip twa
ip netns exec "$c" nft add chain ip twa post '{ type nat hook postrouting priority 100 ; }'
ip netns exec "$c" nft add rule ip twa post ip daddr 198.18.250.2 snat to 198.18.250.3 random,fully-random
server ""
ip netns exec "$c" "$loadgen" client --connect 198.18.250.2 --port 8080 --count 1100 --close-first >/dev/null
record "$c" snat

# loopback churn under the default tw_reuse=2 with a narrow range: already covered
setup
ip netns exec "$c" sysctl -qw net.ipv4.ip_local_port_range="40000 40999"
timeout 120 ip netns exec "$c" "$loadgen" server --bind 127.0.0.1 --port 8080 --timeout-ms 100000 >/dev/null &
sleep 0.5
ip netns exec "$c" "$loadgen" client --connect 127.0.0.1 --port 8080 --count 800 --close-first >/dev/null
record "$c" loopback
