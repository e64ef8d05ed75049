#!/usr/bin/python3
"""Parses a Prometheus text exposition (stdin) with the real parser (prometheus_client) and holds
it to the conventions tw-advisor promises (doc/monitor.md): every family has HELP and TYPE, names
carry the tw_advisor_ prefix, counters end in _total, no family appears twice, samples are
numbers. Prints one line per problem and exits 1; exits 0 silently when it is fine. Run by
Debian's /usr/bin/python3, where scripts/setup installs python3-prometheus-client, whatever
python3 comes first in PATH."""
import re
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    text = sys.stdin.read()
    problems = []
    seen_types = {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)$", line)
        if m:
            name, kind = m.groups()
            if name in seen_types:
                problems.append(f"family {name} declared twice")
            seen_types[name] = kind
            if not name.startswith("tw_advisor_"):
                problems.append(f"{name}: no tw_advisor_ prefix")
            if kind == "counter" and not name.endswith("_total"):
                problems.append(f"{name}: a counter not ending in _total")
            if kind != "counter" and name.endswith("_total"):
                problems.append(f"{name}: _total on a {kind}")
    helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    for name in seen_types:
        if name not in helps:
            problems.append(f"{name}: no HELP")
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own words say what is wrong
        problems.append(f"prometheus_client cannot parse it: {e}")
        families = []
    for family in families:
        for sample in family.samples:
            if not isinstance(sample.value, float):
                problems.append(f"{sample.name}: value {sample.value!r} is not a number")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
