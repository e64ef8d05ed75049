"""Filters that read tw-advisor's `--format json` output (doc/json.md), so the role decides every
outcome from the document, never from the human text."""
import json


def tw_advisor_document(stdout):
    """The one JSON document a tw-advisor command printed on stdout; when it printed none (killed,
    not installed), an object with outcome "unknown" and why."""
    try:
        doc = json.loads(stdout or "")
    except ValueError as e:
        return {"outcome": "unknown", "reason": f"no JSON document on stdout ({e})"}
    if not isinstance(doc, dict) or "kind" not in doc:
        return {"outcome": "unknown", "reason": "stdout is not a tw-advisor document"}
    if doc["kind"] == "error" and "reason" not in doc:
        doc = dict(doc, reason=doc.get("error", {}).get("message", ""))
    return doc


def tw_advisor_outcome(stdout):
    """The outcome of apply or rollback (applied, not-selected, rolled-back, locked, error ...)."""
    return tw_advisor_document(stdout).get("outcome", "unknown")


class FilterModule:
    def filters(self):
        return {"tw_advisor_document": tw_advisor_document, "tw_advisor_outcome": tw_advisor_outcome}
