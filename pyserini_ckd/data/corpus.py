"""Corpus readers: BEIR ``corpus.jsonl`` (``_id``, ``title``, ``text``) and Pyserini JSONL (``id``, ``contents``).

The format is decided per line by its keys, so either kind of file just works. Documents with empty
text are kept (they can be judged relevant, as cranfield's 995 is) and counted in a warning.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Dict, Iterator, Union

from ..errors import InputError
from .lines import iter_lines
from .records import Document

logger = logging.getLogger(__name__)


def _parse_document(path: Path, number: int, text: str) -> Document:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, number, f"malformed JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise InputError(path, number, "expected a JSON object")
    if "_id" in obj or "text" in obj or "title" in obj:  # BEIR
        id_key, fields = "_id", ("title", "text")
    elif "id" in obj or "contents" in obj:  # Pyserini
        id_key, fields = "id", ("contents",)
    else:
        raise InputError(path, number, "missing fields: expected '_id' and 'text' (BEIR) or 'id' and 'contents' (Pyserini)")
    docid = obj.get(id_key)
    if docid is None or (isinstance(docid, str) and not docid.strip()):
        raise InputError(path, number, f"missing field {id_key!r}")
    if not isinstance(docid, (str, int)):
        raise InputError(path, number, f"field {id_key!r} must be a string")
    body_field = fields[-1]
    if body_field not in obj:
        raise InputError(path, number, f"missing field {body_field!r}")
    values = []
    for field in fields:
        value = obj.get(field) or ""
        if not isinstance(value, str):
            raise InputError(path, number, f"field {field!r} must be a string")
        values.append(value)
    if len(values) == 2:
        return Document(str(docid), values[0].strip(), values[1].strip())
    return Document(str(docid), "", values[0].strip())


def iter_corpus(path: Union[str, Path]) -> Iterator[Document]:
    """Stream documents, checking JSON, fields and duplicate ids; raises :class:`InputError`."""
    path = Path(path)
    seen: Dict[str, int] = {}
    empty = 0
    for number, text in iter_lines(path):
        doc = _parse_document(path, number, text)
        if doc.docid in seen:
            raise InputError(path, number, f"duplicate document id {doc.docid!r} (first on line {seen[doc.docid]})")
        seen[doc.docid] = number
        if not doc.contents.strip():
            empty += 1
        yield doc
    if not seen:
        raise InputError(path, None, "empty corpus: no documents")
    if empty:
        logger.warning("%s: %d document(s) with empty text kept", path, empty)


def read_corpus(path: Union[str, Path]) -> Dict[str, Document]:
    """Read a whole corpus into ``{docid: Document}`` in file order."""
    return {doc.docid: doc for doc in iter_corpus(path)}
