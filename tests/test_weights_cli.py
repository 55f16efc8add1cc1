"""``gan-eval weights list`` / ``fetch``: found through the registry (any extractor declaring a
``weights_spec``, a third party's from a plugin file included), fetched from a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
import textwrap

import pytest
from click.testing import CliRunner

from gan_eval.cli.weights import weights_command
from gan_eval.weights import FetchError

PAYLOAD = b"third-party weights " * 5000


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = {"/toy.pth": PAYLOAD, "/short.pth": PAYLOAD[:1000]}.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def third_party_plugin(tmp_path, url: str, sha256: str):
    """A plugin file with an extractor that declares its weights, as a third party would write it."""
    path = tmp_path / "toy_plugin.py"
    path.write_text(
        textwrap.dedent(f"""
        import gan_eval
        from gan_eval.extractor import FeatureExtractor
        from gan_eval.weights import WeightsSpec, TORCH_HUB

        class Toy(FeatureExtractor):
            name = "toy-net"
            weights_spec = WeightsSpec(name="toy-net", title="toy-net weights", file_names=("toy.pth",),
                                       url={url!r}, sha256={sha256!r}, env="TOY_NET_WEIGHTS", folders=(TORCH_HUB,))

            def __call__(self, images):
                raise NotImplementedError("only its weights file matters here")

        @gan_eval.hookimpl
        def register_extractors():
            return [Toy]
    """)
    )
    return path


def test_list_names_every_builtin_weights_file_and_where_it_is_looked_for(tmp_path):
    result = CliRunner().invoke(weights_command, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    for name in ("dinov2-vits14", "dinov2-vitl14", "clip-vitb32", "clip-vitl14-336"):
        assert name in rows and rows[name]["found"] is None
    assert rows["clip-vitl14-336"]["sha256"] in rows["clip-vitl14-336"]["url"]  # OpenAI's address carries it
    places = [p["place"] for p in rows["dinov2-vits14"]["places"]]
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "dinov2_vits14_pretrain.pth") in places
    assert str(tmp_path / "home" / ".cache" / "clip" / "ViT-B-32.pt") in [p["place"] for p in rows["clip-vitb32"]["places"]]
    text = CliRunner().invoke(weights_command, ["list"])
    assert "dinov2-vitb14: DINOv2 ViT-B/14 weights - NOT FOUND" in text.output and "missing " in text.output


def test_fetch_a_third_party_extractors_file_then_list_shows_it_found(tmp_path, server):
    plugin = third_party_plugin(tmp_path, f"{server}/toy.pth", hashlib.sha256(PAYLOAD).hexdigest())
    result = CliRunner().invoke(weights_command, ["fetch", "toy-net", "--plugin", str(plugin)])
    assert result.exit_code == 0, result.output
    target = tmp_path / "torch" / "hub" / "checkpoints" / "toy.pth"
    assert target.read_bytes() == PAYLOAD
    assert f"downloaded {server}/toy.pth ({len(PAYLOAD)} bytes) to {target}" in result.output
    assert "matches the published SHA-256" in result.output
    listed = CliRunner().invoke(weights_command, ["list", "--plugin", str(plugin), "--json"])
    assert {r["name"]: r["found"] for r in json.loads(listed.output)}["toy-net"] == str(target)


def test_fetch_refuses_a_file_with_the_wrong_hash_and_writes_nothing(tmp_path, server):
    plugin = third_party_plugin(tmp_path, f"{server}/toy.pth", "f" * 64)
    result = CliRunner().invoke(weights_command, ["fetch", "toy-net", "--plugin", str(plugin)])
    assert isinstance(result.exception, FetchError) and "not the published " + "f" * 64 in str(result.exception)
    assert not (tmp_path / "torch" / "hub" / "checkpoints").exists() or not any((tmp_path / "torch" / "hub" / "checkpoints").iterdir())


def test_fetch_of_a_truncated_download_says_so(tmp_path, server):
    plugin = third_party_plugin(tmp_path, f"{server}/short.pth", "")
    result = CliRunner().invoke(weights_command, ["fetch", "toy-net", "--plugin", str(plugin), "--to", str(tmp_path / "dl")])
    assert isinstance(result.exception, FetchError) and f"received 1000 of {len(PAYLOAD)} bytes" in str(result.exception)
    assert not (tmp_path / "dl").exists() or not any((tmp_path / "dl").iterdir())


def test_fetch_when_the_server_is_down(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    plugin = third_party_plugin(tmp_path, f"http://127.0.0.1:{port}/toy.pth", "")
    result = CliRunner().invoke(weights_command, ["fetch", "toy-net", "--plugin", str(plugin), "--timeout", "5"])
    assert isinstance(result.exception, FetchError) and "cannot download" in str(result.exception)


def test_fetch_into_a_folder_the_extractor_does_not_search_says_how_to_use_it(tmp_path, server):
    plugin = third_party_plugin(tmp_path, f"{server}/toy.pth", "")
    result = CliRunner().invoke(weights_command, ["fetch", "toy-net", "--plugin", str(plugin), "--to", str(tmp_path / "dl")])
    assert result.exit_code == 0, result.output
    assert f"-O toy-net.weights={tmp_path / 'dl' / 'toy.pth'}" in result.output


def test_fetch_of_an_unknown_name_lists_the_known_ones():
    result = CliRunner().invoke(weights_command, ["fetch", "dinov3"])
    assert "no extractor named 'dinov3'" in str(result.exception) and "dinov2-vitl14" in str(result.exception)
