"""The public BEIR collections: one manifest of URLs and checksums, and a verified download.

Nothing downloads at import time. A download streams into a temporary file, checks the MD5 that BEIR
publishes for the zip, and only then unpacks into the cache (``$PYSERINI_CKD_CACHE`` or
``~/.cache/pyserini_ckd/beir``). Without a network it fails at once with a message saying how to use
a local copy instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Dict

from ..atomic import atomic_output
from ..errors import CkdError

logger = logging.getLogger(__name__)

BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{name}.zip"

#: MD5 of each zip as published in BEIR's README.
BEIR_MD5: Dict[str, str] = {
    "msmarco": "444067daf65d982533ea17ebd59501e4",
    "trec-covid": "ce62140cb23feb9becf6270d0d1fe6d1",
    "nfcorpus": "a89dba18a62ef92f7d323ec890a0d38d",
    "nq": "d4d3d2e48787a744b6f6e691ff534307",
    "hotpotqa": "f412724f78b0d91183a0e86805e16114",
    "fiqa": "17918ed23cd04fb15047f73e6c3bd9d9",
    "arguana": "8ad3e3c2a5867cdced806d6503f29b99",
    "webis-touche2020": "46f650ba5a527fc69e0a6521c5a23563",
    "cqadupstack": "4e41456d7df8ee7760a7f866133bda78",
    "quora": "18fb154900ba42a600f84b839c173167",
    "dbpedia-entity": "c2a39eb420a3164af735795df012ac2c",
    "scidocs": "38121350fc3a4d2f48850f6aff52e4a9",
    "fever": "5a818580227bfb4b35bb6fa46d9b6c03",
    "climate-fever": "8b66f0a9126c521bae2bde127b4dc99d",
    "scifact": "5f7d1de60b170fc8027bb7898e2efca1",
}


class DownloadError(CkdError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("PYSERINI_CKD_CACHE", Path.home() / ".cache" / "pyserini_ckd" / "beir"))


def download_beir(name: str, timeout: float = 30.0) -> Path:
    """Return the cached folder of BEIR dataset ``name``, downloading and verifying it if needed."""
    if name not in BEIR_MD5:
        raise DownloadError(f"no public BEIR dataset named {name!r}; known: {', '.join(sorted(BEIR_MD5))}")
    target = cache_dir() / name
    if (target / "corpus.jsonl").is_file():
        return target
    url = BEIR_URL.format(name=name)
    hint = (f"cannot download {url}; without a network, unzip a copy of {name}.zip and pass its folder "
            f"as the dataset path, or set PYSERINI_CKD_DATA to a folder holding {name}/")
    md5 = hashlib.md5()
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target.parent / f"{name}.zip") as tmp_zip:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp_zip, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0)
                from tqdm import tqdm

                with tqdm(total=total or None, unit="B", unit_scale=True, desc=f"download {name}") as bar:
                    while chunk := response.read(1 << 20):
                        md5.update(chunk)
                        out.write(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, OSError) as exc:
            raise DownloadError(f"{hint} ({getattr(exc, 'reason', exc)})") from None
        if md5.hexdigest() != BEIR_MD5[name]:
            raise DownloadError(f"{url}: checksum mismatch (md5 {md5.hexdigest()}, expected {BEIR_MD5[name]})")
        with atomic_output(target, directory=True) as tmp_dir:
            with zipfile.ZipFile(tmp_zip) as archive:
                for member in archive.infolist():
                    parts = Path(member.filename).parts
                    if member.is_dir() or len(parts) < 2 or ".." in parts:
                        continue
                    dest = tmp_dir.joinpath(*parts[1:])  # drop the zip's top folder
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as src, open(dest, "wb") as dst:
                        shutil.copyfileobj(src, dst)
    (target.parent / f"{name}.zip").unlink(missing_ok=True)
    logger.info("downloaded %s into %s", name, target)
    return target
