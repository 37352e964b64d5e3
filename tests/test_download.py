"""BEIR download: checksum verified, cached, and a clear one-line failure without a network.

A zip is served from a loopback HTTP server started by the test; nothing leaves the machine.
"""

import hashlib
import http.server
import io
import threading
import zipfile

import pytest

from pyserini_ckd.data import download
from pyserini_ckd.data.datasets import resolve_dataset


def _zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mini/corpus.jsonl", '{"_id": "a", "title": "", "text": "hello"}\n')
        z.writestr("mini/queries.jsonl", '{"_id": "1", "text": "hi"}\n')
        z.writestr("mini/qrels/test.tsv", "query-id\tcorpus-id\tscore\n1\ta\t1\n")
    return buf.getvalue()


@pytest.fixture
def server():
    payload = _zip_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/{{name}}.zip", hashlib.md5(payload).hexdigest()
    httpd.shutdown()


def test_download_verifies_and_caches(server, tmp_path, monkeypatch):
    url, md5 = server
    monkeypatch.setenv("PYSERINI_CKD_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PYSERINI_CKD_DATA", raising=False)
    monkeypatch.setattr(download, "BEIR_URL", url)
    monkeypatch.setitem(download.BEIR_MD5, "mini", md5)
    ds = resolve_dataset("mini")
    assert ds.path == tmp_path / "cache" / "mini"
    assert ds.qrels("test") == {"1": {"a": 1}}
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["mini"]  # zip removed, no temporaries


def test_checksum_mismatch_leaves_nothing(server, tmp_path, monkeypatch):
    url, _ = server
    monkeypatch.setenv("PYSERINI_CKD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "BEIR_URL", url)
    monkeypatch.setitem(download.BEIR_MD5, "mini", "0" * 32)
    with pytest.raises(download.DownloadError, match="checksum mismatch"):
        download.download_beir("mini")
    assert list((tmp_path / "cache").iterdir()) == []


def test_no_network_fails_at_once_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("PYSERINI_CKD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "BEIR_URL", "http://127.0.0.1:9/{name}.zip")  # discard port: refused
    with pytest.raises(download.DownloadError) as info:
        download.download_beir("scifact")
    message = str(info.value)
    assert "without a network" in message and "PYSERINI_CKD_DATA" in message
    assert "\n" not in message
    assert list((tmp_path / "cache").iterdir()) == []


def test_every_public_name_has_an_md5():
    assert {"scifact", "nfcorpus", "fiqa", "arguana", "scidocs", "trec-covid"} <= set(download.BEIR_MD5)
    assert all(len(v) == 32 for v in download.BEIR_MD5.values())
