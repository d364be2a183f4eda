"""The SMS templates an administrator registers (README) are exactly the texts the code fills in."""

from __future__ import annotations

import re
from pathlib import Path

from app.notify.models import NoticeKind
from app.notify.sms_texts import TEMPLATES

README = Path(__file__).resolve().parent.parent / "README.md"
ROW = re.compile(r"^\| `(\w+)` \| `([^`]+)` \| `([^`]+)` \|$", re.MULTILINE)


def test_the_readme_lists_every_sms_template_in_both_syntaxes():
    rows = {key: (aliyun, tencent) for key, aliyun, tencent in ROW.findall(README.read_text(encoding="utf-8"))}
    expected = {kind.value: (template.text, template.tencent_text) for kind, template in TEMPLATES.items()}
    assert rows == expected
    assert set(rows) <= {kind.value for kind in NoticeKind}
