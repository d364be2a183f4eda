"""Fill app/translations/zh/LC_MESSAGES/messages.po from a JSON file of {msgid: msgstr}.

Used when adding a batch of strings: `python scripts/translate.py new.json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "app/translations/zh/LC_MESSAGES/messages.po"


def main(source: str) -> None:
    """Merge translations into the catalogue, keeping the ones already there."""
    translations = json.loads(Path(source).read_text(encoding="utf-8"))
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="zh")
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in translations:
            value = translations[key]
            message.string = tuple([value] * len(message.id)) if isinstance(message.id, tuple) else value
            message.flags.discard("fuzzy")
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False)
    missing = [m.id for m in catalog if m.id and not m.string]
    print(f"{len(missing)} untranslated", *missing[:50], sep="\n  ")


if __name__ == "__main__":
    main(sys.argv[1])
