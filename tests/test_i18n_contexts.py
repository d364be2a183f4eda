"""Translation contexts: one English word with two meanings gets two Chinese words."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABEL_CALLS = {"_l": None, "lazy_gettext": None, "_": None, "gettext": None}
CONTEXT_CALLS = {"lazy_pgettext", "pgettext"}


def _label(node: ast.expr) -> tuple[str | None, str] | None:
    """(context, msgid) of a translated constant, or None when the value is something else."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return None
    strings = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if node.func.id in LABEL_CALLS and len(strings) >= 1:
        return None, strings[0]
    if node.func.id in CONTEXT_CALLS and len(strings) >= 2:
        return strings[0], strings[1]
    return None


def label_maps() -> dict[str, list[tuple[str | None, str]]]:
    """Every label map of the models: a module-level dict whose values are all translated constants."""
    maps: dict[str, list[tuple[str | None, str]]] = {}
    for path in sorted(ROOT.glob("app/*/models.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.Assign | ast.AnnAssign) or not isinstance(node.value, ast.Dict):
                continue
            labels = [_label(value) for value in node.value.values]
            if not labels or None in labels:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    maps[f"{path.parent.name}.{target.id}"] = labels  # type: ignore[assignment]
    return maps


def shared_without_context(maps: dict[str, list[tuple[str | None, str]]]) -> list[str]:
    """English labels used by two maps where the maps do not tell their meanings apart by context."""
    uses: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for name, labels in maps.items():
        for context, msgid in labels:
            uses[msgid].append((name, context))
    problems = []
    for msgid, where in sorted(uses.items()):
        names = {name for name, _context in where}
        contexts = [context for _name, context in where]
        if len(names) > 1 and (None in contexts or len(set(contexts)) < len(names)):
            problems.append(f"{msgid!r} in {sorted(names)}")
    return problems


def test_the_label_maps_are_found():
    maps = label_maps()
    assert {"problems.STATUS_LABELS", "invitations.ANSWER_LABELS", "mail.OUTBOX_STATUS_LABELS"} <= set(maps)
    assert len(maps) >= 15


def test_no_two_label_maps_share_an_english_label_without_a_context():
    """The problem state and the invitation answer are both "Accepted" in English, 受理 and 接受 in Chinese."""
    assert shared_without_context(label_maps()) == []


def test_the_check_catches_a_shared_label():
    maps = {"a.X_LABELS": [(None, "Accepted")], "b.Y_LABELS": [(None, "Accepted")]}
    assert shared_without_context(maps) == ["'Accepted' in ['a.X_LABELS', 'b.Y_LABELS']"]
    maps = {"a.X_LABELS": [("problem status", "Accepted")], "b.Y_LABELS": [("invitation answer", "Accepted")]}
    assert shared_without_context(maps) == []
