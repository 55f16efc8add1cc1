"""gan_eval.weights: the search order, the message listing every place searched, the hash cache, and
the opt-in fetch against a local HTTP server (right file, wrong hash, truncated, server down)."""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import threading

import pytest

from gan_eval import weights
from gan_eval.errors import UsageError

PAYLOAD = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and a bit: more than one read chunk


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Private, empty cache folders: no user file can be found and no user cache is touched."""
    monkeypatch.setenv("GAN_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GAN_EVAL_TEST_WEIGHTS", raising=False)


def spec(url="", sha256="", folders=(weights.TORCH_HUB, weights.GAN_EVAL_CACHE)):
    return weights.WeightsSpec(
        name="toy", title="toy weights", file_names=("toy.pth", "toy-peer.pth"), url=url, sha256=sha256, env="GAN_EVAL_TEST_WEIGHTS", folders=folders
    )


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body, declared = self.server.routes.get(self.path, (None, None))
        if body is None:
            self.send_error(404, "no such file")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        self.wfile.write(body)  # may be shorter than declared: a truncated download
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 in a thread; ``routes[path] = (body, declared length)``."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes = {
        "/good.pth": (PAYLOAD, len(PAYLOAD)),
        "/truncated.pth": (PAYLOAD[:300_000], len(PAYLOAD)),
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def hub(tmp_path):
    return tmp_path / "torch" / "hub" / "checkpoints"


# --- finding -----------------------------------------------------------------------------------------
def test_missing_file_message_lists_every_place_and_every_way_to_provide_it(tmp_path):
    with pytest.raises(weights.WeightsNotFoundError) as info:
        weights.find_weights(spec(url="http://example.invalid/toy.pth"))
    message = str(info.value)
    assert "$GAN_EVAL_TEST_WEIGHTS (not set)" in message
    for folder in (hub(tmp_path), tmp_path / "cache" / "weights"):
        for name in ("toy.pth", "toy-peer.pth"):
            assert str(folder / name) in message
    assert "-O toy.weights=PATH" in message and "gan-eval weights fetch toy" in message
    assert "never downloads" in message


def test_search_order_parameter_then_environment_then_folders_in_order(tmp_path, monkeypatch):
    (tmp_path / "cache" / "weights").mkdir(parents=True)
    (tmp_path / "cache" / "weights" / "toy.pth").write_bytes(b"second folder")
    assert weights.find_weights(spec()).origin == "gan-eval cache"
    hub(tmp_path).mkdir(parents=True)
    (hub(tmp_path) / "toy-peer.pth").write_bytes(b"first folder, peer name")
    found = weights.find_weights(spec())
    assert found.origin == "torch hub cache" and found.path.name == "toy-peer.pth"
    assert found.sha256 == hashlib.sha256(b"first folder, peer name").hexdigest()
    env_file = tmp_path / "env.pth"
    env_file.write_bytes(b"env")
    monkeypatch.setenv("GAN_EVAL_TEST_WEIGHTS", str(env_file))
    assert weights.find_weights(spec()).origin == "environment"
    given = tmp_path / "given.pth"
    given.write_bytes(b"given")
    assert weights.find_weights(spec(), str(given)).path == given


def test_a_given_path_or_environment_path_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=r"-O toy.weights=.*nope.pth: no such file"):
        weights.find_weights(spec(), str(tmp_path / "nope.pth"))
    monkeypatch.setenv("GAN_EVAL_TEST_WEIGHTS", str(tmp_path / "gone.pth"))
    with pytest.raises(UsageError, match=r"GAN_EVAL_TEST_WEIGHTS=.*gone.pth: no such file"):
        weights.find_weights(spec())


def test_published_hash_is_checked_unless_the_user_accepts_another_file(tmp_path):
    path = tmp_path / "w.pth"
    path.write_bytes(b"other bytes")
    found = weights.find_weights(spec(sha256=hashlib.sha256(PAYLOAD).hexdigest()), str(path))
    with pytest.raises(UsageError) as info:
        weights.check_published_hash(found, spec(sha256=hashlib.sha256(PAYLOAD).hexdigest()), allow_other=False)
    assert str(path) in str(info.value) and "toy.allow_nonstandard=true" in str(info.value)
    weights.check_published_hash(found, spec(sha256=hashlib.sha256(PAYLOAD).hexdigest()), allow_other=True)
    weights.check_published_hash(found, spec(sha256=""), allow_other=False)  # nothing published: nothing to check


def test_hash_is_cached_by_path_size_and_mtime(tmp_path):
    target = tmp_path / "w.pth"
    target.write_bytes(b"abc")
    calls = []

    def counting(path):
        calls.append(path)
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert weights.file_sha256(target, counting) == hashlib.sha256(b"abc").hexdigest()
    assert weights.file_sha256(target, counting) == hashlib.sha256(b"abc").hexdigest() and len(calls) == 1
    target.write_bytes(b"abd")
    os.utime(target, ns=(1, 2_000_000_000))
    assert weights.file_sha256(target, counting) == hashlib.sha256(b"abd").hexdigest() and len(calls) == 2


def test_search_report_says_where_each_file_is_looked_for_and_whether_it_is_there(tmp_path):
    hub(tmp_path).mkdir(parents=True)
    (hub(tmp_path) / "toy.pth").write_bytes(b"x")
    rows = weights.search_report(spec())
    assert rows[0] == {"place": "$GAN_EVAL_TEST_WEIGHTS", "origin": "environment", "found": False, "note": "not set"}
    found = {row["place"]: row["found"] for row in rows[1:]}
    assert found == {
        str(hub(tmp_path) / "toy.pth"): True,
        str(hub(tmp_path) / "toy-peer.pth"): False,
        str(tmp_path / "cache" / "weights" / "toy.pth"): False,
        str(tmp_path / "cache" / "weights" / "toy-peer.pth"): False,
    }


# --- fetching ----------------------------------------------------------------------------------------
def test_fetch_writes_the_published_file_where_the_finder_looks_and_primes_the_hash_cache(tmp_path, server):
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    toy = spec(url=f"{server}/good.pth", sha256=digest)
    result = weights.fetch_weights(toy)
    assert result.downloaded and result.verified and result.size == len(PAYLOAD) and result.sha256 == digest
    assert result.path == hub(tmp_path) / "toy.pth" and result.path.read_bytes() == PAYLOAD
    assert "matches the published SHA-256" in result.describe() and server in result.describe()
    assert sorted(p.name for p in hub(tmp_path).iterdir()) == ["toy.pth"]  # no temporary left behind
    found = weights.find_weights(toy, hash_file=lambda p: pytest.fail("hashed again"))
    assert found.path == result.path and found.sha256 == digest
    again = weights.fetch_weights(toy)  # already there with the right hash: nothing downloaded
    assert not again.downloaded and "Nothing downloaded" in again.describe()


def test_fetch_without_a_published_hash_records_the_hash_and_honours_to_dir(tmp_path, server):
    result = weights.fetch_weights(spec(url=f"{server}/good.pth"), to_dir=tmp_path / "elsewhere")
    assert result.path == tmp_path / "elsewhere" / "toy.pth" and result.path.read_bytes() == PAYLOAD
    assert not result.verified and result.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert "publisher states no hash" in result.describe()


def test_fetch_with_the_wrong_hash_leaves_nothing_in_the_cache_folder(tmp_path, server):
    with pytest.raises(weights.FetchError) as info:
        weights.fetch_weights(spec(url=f"{server}/good.pth", sha256="0" * 64))
    assert "not the published " + "0" * 64 in str(info.value) and "nothing was written" in str(info.value)
    assert not hub(tmp_path).exists() or list(hub(tmp_path).iterdir()) == []


def test_fetch_of_a_truncated_download_fails_and_leaves_nothing(tmp_path, server):
    with pytest.raises(weights.FetchError) as info:
        weights.fetch_weights(spec(url=f"{server}/truncated.pth"))
    assert "truncated" in str(info.value) and f"of {len(PAYLOAD)} bytes" in str(info.value)
    assert not hub(tmp_path).exists() or list(hub(tmp_path).iterdir()) == []


def test_fetch_keeps_an_existing_file_when_the_new_download_fails(tmp_path, server):
    hub(tmp_path).mkdir(parents=True)
    (hub(tmp_path) / "toy.pth").write_bytes(b"old")
    with pytest.raises(weights.FetchError):
        weights.fetch_weights(spec(url=f"{server}/truncated.pth"))
    assert (hub(tmp_path) / "toy.pth").read_bytes() == b"old"


def test_fetch_from_a_server_that_is_down_says_so(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(weights.FetchError) as info:
        weights.fetch_weights(spec(url=f"http://127.0.0.1:{port}/toy.pth"), timeout=5)
    message = str(info.value)
    assert f"cannot download http://127.0.0.1:{port}/toy.pth" in message and "refused" in message.lower()
    assert "nothing was written" in message and not hub(tmp_path).exists()


def test_fetch_of_a_missing_file_reports_the_http_status(server):
    with pytest.raises(weights.FetchError, match="HTTP 404"):
        weights.fetch_weights(spec(url=f"{server}/absent.pth"))


def test_fetch_without_a_known_address_is_a_usage_error():
    with pytest.raises(UsageError, match="no publisher address is known"):
        weights.fetch_weights(spec(url=""))
