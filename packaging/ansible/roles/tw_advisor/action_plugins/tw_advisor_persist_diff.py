"""tw_advisor_persist_diff: shows, with `ansible-playbook --diff`, the generated sysctl.d file as a
plan would leave it: its `key = value` lines now and after the plan's changes, from the plan
document's `persist` object (doc/plan-schema.md). Runs on the controller and changes nothing.

    - tw_advisor_persist_diff:
        plan: "{{ plan_stdout | tw_advisor_document }}"
"""
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("plan",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        plan = self._task.args.get("plan")
        if not isinstance(plan, dict) or plan.get("kind") != "plan":
            raise AnsibleActionFail("plan: give the document `tw-advisor plan --format json` printed")
        persist = plan.get("persist")
        if not persist:
            result.update(changed=False, msg="the plan writes no sysctl.d file (no changes)")
            return result
        before = "".join(line + "\n" for line in persist["old"])
        after = "".join(line + "\n" for line in persist["new"])
        result["changed"] = before != after
        result["msg"] = f"{persist['file']}: {len(persist['old'])} -> {len(persist['new'])} settings"
        result["diff"] = {"before": before, "after": after,
                          "before_header": persist["file"], "after_header": persist["file"]}
        return result
