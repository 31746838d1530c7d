"""Every audit action and object type the code writes has a label (store.labels).

The audit page shows an event's action and object by their labels (计划提交审核, not
``plan.submit``); an action added to the code without a label would show raw in zh-CN.  The
test reads the source (as tests/store/test_messages.py reads raise sites): every
``AuditEvent(action=…, object_type=…)`` and every call of an audit helper, with f-strings
expanded over the values their placeholders can take.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

from scheduler.purchases import DOCUMENT_TYPES
from spotcheck.web.routes.purchasing import STEPS
from store.labels import TEXT_LABELS, text_label
from store.vocabulary import PlanStatus, PurchaseStatus

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("crawlers", "evidence", "sampler", "scheduler", "spotcheck", "store")

#: Helpers that write an audit event: (file, function name) → (action position, object
#: type position or None).  ``audit`` of spotcheck.web.deps is called from every route.
HELPERS: dict[tuple[str, str], tuple[int, int | None]] = {
    ("spotcheck/web/routes", "audit"): (2, 3),
    ("spotcheck/web/deps.py", "audit"): (2, 3),
    ("scheduler/cases.py", "_audit"): (2, None),
    ("sampler/plans.py", "_audit"): (2, None),
    ("spotcheck/users.py", "_audit"): (2, None),
    ("spotcheck/identity.py", "_audit"): (2, None),
    ("spotcheck/commands/products.py", "_audit"): (1, None),
    ("spotcheck/commands/signals.py", "_audit"): (1, 2),
}

#: What an f-string placeholder of an action can be (its source text → values).
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "new.value": tuple(m.value for m in PurchaseStatus),
    "outcome.value": (PlanStatus.APPROVED.value, PlanStatus.REJECTED.value),
    "step": STEPS,
    "role": tuple(DOCUMENT_TYPES),
    "action": ("approve", "reject"),
    "status[:-2]": ("confirm", "reject"),
    "status[:-2] if status.endswith('ed') else status": ("confirm", "reject"),
}


def _values(node: ast.expr, where: str) -> set[str]:
    """The strings *node* can be; a plain name (a helper passing its parameter on) is none."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _values(node.body, where) | _values(node.orelse, where)
    if isinstance(node, ast.JoinedStr):
        parts: list[tuple[str, ...]] = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append((str(part.value),))
            else:
                assert isinstance(part, ast.FormattedValue)
                source = ast.unparse(part.value)
                assert source in PLACEHOLDERS, f"{where}: add the values of {{{source}}}"
                parts.append(PLACEHOLDERS[source])
        return {"".join(p) for p in itertools.product(*parts)}
    return set()


def _keys(node: ast.expr) -> set[str]:
    """The literal keys of a details dict (``{"note": note}``, ``{...} if x else {}``)."""
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if isinstance(k, ast.Constant)
                and isinstance(k.value, str)}
    if isinstance(node, ast.IfExp):
        return _keys(node.body) | _keys(node.orelse)
    return set()


def written() -> tuple[set[str], set[str]]:
    """Every audit action and object type the code writes."""
    return _walk()[:2]


def _walk() -> tuple[set[str], set[str], set[str]]:
    """Every audit action, object type and details key the code writes."""
    actions: set[str] = set()
    objects: set[str] = set()
    keys: set[str] = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else (
                    node.func.attr if isinstance(node.func, ast.Attribute) else "")
                where = f"{rel}:{node.lineno}"
                if name == "AuditEvent":
                    for kw in node.keywords:
                        if kw.arg == "action":
                            actions |= _values(kw.value, where)
                        elif kw.arg == "object_type":
                            objects |= _values(kw.value, where)
                        elif kw.arg == "detail":
                            keys |= _keys(kw.value)
                    continue
                spec = next((pos for (prefix, fn), pos in HELPERS.items()
                             if fn == name and rel.startswith(prefix)), None)
                if spec is None:
                    continue
                at, obj = spec
                if len(node.args) > at:
                    actions |= _values(node.args[at], where)
                if obj is not None and len(node.args) > obj:
                    objects |= _values(node.args[obj], where)
                # details: the helper's keyword arguments, or a dict literal passed on
                keys |= {kw.arg for kw in node.keywords if kw.arg is not None}
                for arg in node.args[at + 1:]:
                    keys |= _keys(arg)
    return actions, objects, keys


def test_every_audit_action_and_object_type_written_has_a_label() -> None:
    actions, objects = written()
    # The walk finds what it should (a broken walk would pass with nothing found).
    assert {"plan.submit", "plan.approved", "purchase.sent_to_lab", "login.failed",
            "persona.disable", "purchase.result.refused", "signals.confirm"} <= actions
    assert {"buyer_persona", "plan", "case", "user", "notice_match"} <= objects
    assert sorted(actions - set(TEXT_LABELS["audit_action"])) == []
    assert sorted(objects - set(TEXT_LABELS["audit_object"])) == []


def test_every_details_key_written_has_a_label() -> None:
    """The audit page names an event's details (所需权限, not ``permission``)."""
    keys = _walk()[2]
    assert {"permission", "reason", "rows", "comment", "seed", "role"} <= keys
    assert sorted(keys - set(TEXT_LABELS["audit_detail"])) == []


def test_every_permission_and_plan_refusal_has_a_label() -> None:
    """A refused access names the permission it needed, a refused review why: both by label."""
    from sampler import plans
    from spotcheck.permissions import PERMISSIONS

    assert sorted(set(PERMISSIONS) - set(TEXT_LABELS["permission"])) == []
    # the codes review_refusal and submit_refusal return, read from their source
    source = ast.parse(Path(plans.__file__).read_text(encoding="utf-8"))
    codes = {node.value.value for fn in ast.walk(source) if isinstance(fn, ast.FunctionDef)
             and fn.name in ("review_refusal", "submit_refusal")
             for node in ast.walk(fn) if isinstance(node, ast.Return)
             and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
    assert {"four_eyes", "unchanged"} <= codes
    assert sorted(codes - set(TEXT_LABELS["plan_refusal"])) == []


def test_an_audit_action_reads_in_the_locale() -> None:
    assert text_label("audit_action", "plan.submit") == "提交抽样方案"
    assert text_label("audit_action", "plan.submit", "en") == "plan submitted"
    assert text_label("audit_object", "buyer_persona") == "买家身份"
