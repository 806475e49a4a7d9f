"""URL fetching against a real local HTTP server: streaming, caps, redirects, refusals, PUT."""

from __future__ import annotations

import hashlib
import http.server
import random
import re
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from services.common.errors import InvalidArgument, PayloadTooLarge
from services.common.urlfetch import (
    FetchPolicy,
    check_url,
    content_type_for_put,
    download,
    upload,
)

BODY = random.Random(5).randbytes(3 * 1024 * 1024 + 7)
LOCAL = FetchPolicy(allowed_hosts=("127.0.0.1",))


@dataclass
class Seen:
    """One request as the server got it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Server:
    base: str
    port: int
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def paths(self) -> list[str]:
        return [s.path.split("?")[0] for s in self.seen]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass

    def _record(self, body: bytes = b"") -> None:
        self.server.state.seen.append(
            Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._record()
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        state = self.server.state
        if url.path == "/track.mp3":
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            view = memoryview(BODY)
            for start in range(0, len(BODY), 64 * 1024):
                self.wfile.write(view[start : start + 64 * 1024])
        elif url.path == "/download":
            self._send(
                200,
                b"RIFF....",
                {
                    "Content-Type": "audio/wav; charset=binary",
                    "Content-Disposition": "attachment; filename*=UTF-8''Caf%C3%A9%20take.WAV",
                },
            )
        elif url.path == "/video":
            self._send(200, b"\x1aE\xdf\xa3", {"Content-Type": "video/webm"})
        elif url.path == "/chunked":
            # No Content-Length: the cap can only be enforced while counting.
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(int(query["n"])):
                chunk = b"x" * 100_000
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/announce":
            # Announces a size, sends nothing: only the header can trip the cap.
            self.send_response(200)
            self.send_header("Content-Length", query["size"])
            self.end_headers()
            self.wfile.flush()
            state.release.wait(10)
        elif url.path == "/short":
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.close_connection = True
        elif url.path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            state.release.wait(10)
        elif url.path == "/stall-headers":
            state.release.wait(10)
        elif url.path == "/redirect":
            self._send(int(query.get("code", "302")), headers={"Location": query["to"]})
        elif url.path == "/loop":
            self._send(302, headers={"Location": "/loop"})
        elif url.path.startswith("/status/"):
            self._send(int(url.path.rsplit("/", 1)[1]), b"nope")
        else:
            self._send(404, b"unknown")

    def do_PUT(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self._record(body)
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/bucket/out.mp4":
            self._send(200)
        elif url.path == "/redirect":
            self._send(int(query.get("code", "307")), headers={"Location": query["to"]})
        elif url.path == "/denied":
            self._send(403, b"<Error>SignatureDoesNotMatch</Error>")
        else:
            self._send(404)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    state: Server


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
    port = httpd.server_address[1]
    httpd.state = Server(base=f"http://127.0.0.1:{port}", port=port)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.state
    finally:
        httpd.state.release.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def fresh(server: Server) -> None:
    server.seen.clear()


def _resolver(table: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


def _nothing_left(folder: Path) -> None:
    assert list(folder.iterdir()) == []


async def test_streams_a_large_body_to_the_file(server, tmp_path):
    dest = tmp_path / "in.mp3"
    progress: list[tuple[int, int | None]] = []

    async def on_progress(done: int, total: int | None) -> None:
        progress.append((done, total))

    async def peak_memory(path: str, dest: Path, **kwargs):
        tracemalloc.start()
        try:
            result = await download(f"{server.base}{path}", dest, policy=LOCAL, **kwargs)
            return result, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # The first client loads the CA bundle; measure a 4-byte body after it as the baseline.
    await download(f"{server.base}/video", tmp_path / "warm", policy=LOCAL)
    _, baseline = await peak_memory("/video", tmp_path / "warm")
    (tmp_path / "warm").unlink()
    result, peak = await peak_memory("/track.mp3", dest, on_progress=on_progress)

    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(BODY).digest()
    assert result.size == len(BODY)
    assert result.url == f"{server.base}/track.mp3"
    assert result.content_type == "audio/mpeg"
    assert (result.filename, result.extension) == ("track.mp3", "mp3")
    assert peak - baseline < len(BODY) // 3, f"{peak - baseline} bytes more than a tiny body"
    assert progress[-1] == (len(BODY), len(BODY))
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    assert len(progress) >= 3
    assert [p.name for p in tmp_path.iterdir()] == ["in.mp3"]
    assert server.seen[-1].headers["host"] == f"127.0.0.1:{server.port}"


async def test_names_the_file_from_content_disposition_or_content_type(server, tmp_path):
    result = await download(f"{server.base}/download", tmp_path / "a", policy=LOCAL)
    assert (result.filename, result.extension) == ("Café take.WAV", "wav")
    assert result.content_type == "audio/wav"
    result = await download(f"{server.base}/video", tmp_path / "b", policy=LOCAL)
    assert (result.filename, result.extension) == ("video", "webm")


async def test_content_length_over_the_cap_is_refused_before_the_body(server, tmp_path):
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), max_bytes=1_000_000, timeout=5)
    started = time.monotonic()
    with pytest.raises(PayloadTooLarge, match=r"^input URL is larger than the 1 MB limit$"):
        await download(f"{server.base}/announce?size=1000001", tmp_path / "x", policy=policy)
    # The server sends no body: only the announced length could have tripped the cap.
    assert time.monotonic() - started < 3
    _nothing_left(tmp_path)


async def test_default_cap_is_500_mb(server, tmp_path):
    with pytest.raises(PayloadTooLarge, match=r"^input URL is larger than the 500 MB limit$"):
        await download(f"{server.base}/announce?size=500000001", tmp_path / "x", policy=LOCAL)
    _nothing_left(tmp_path)


async def test_chunked_body_over_the_cap_is_cut_off_while_streaming(server, tmp_path):
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), max_bytes=1_000_000)
    result = await download(f"{server.base}/chunked?n=10", tmp_path / "ok", policy=policy)
    assert result.size == 1_000_000
    (tmp_path / "ok").unlink()
    with pytest.raises(PayloadTooLarge, match=r"^input URL is larger than the 1 MB limit$"):
        await download(f"{server.base}/chunked?n=11", tmp_path / "x", policy=policy)
    _nothing_left(tmp_path)


@pytest.mark.parametrize(
    ("status", "text"), [(404, "404 Not Found"), (500, "500 Internal Server Error")]
)
async def test_non_2xx_is_an_error(server, tmp_path, status, text):
    with pytest.raises(InvalidArgument, match=rf"^input URL answered {text}$"):
        await download(f"{server.base}/status/{status}", tmp_path / "x", policy=LOCAL)
    _nothing_left(tmp_path)


async def test_body_cut_short_is_an_error(server, tmp_path):
    with pytest.raises(InvalidArgument, match="^input URL could not be fetched: the connection"):
        await download(f"{server.base}/short", tmp_path / "x", policy=LOCAL)
    _nothing_left(tmp_path)


async def test_follows_allowed_redirects(server, tmp_path):
    url = f"{server.base}/redirect?to=/redirect%3Fto%3D/track.mp3%26code%3D307&code=301"
    result = await download(url, tmp_path / "x", policy=LOCAL)
    assert result.url == f"{server.base}/track.mp3"
    assert result.size == len(BODY)
    assert server.paths() == ["/redirect", "/redirect", "/track.mp3"]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("file:///etc/passwd", "only http and https URLs are allowed, not file"),
    ],
)
async def test_every_redirect_hop_is_checked(server, tmp_path, target, reason):
    second = f"{server.base}/redirect?to={target}"
    url = f"{server.base}/redirect?to={second.replace('?', '%3F').replace('=', '%3D')}"
    started = time.monotonic()
    with pytest.raises(InvalidArgument) as caught:
        await download(url, tmp_path / "x", policy=LOCAL)
    assert caught.value.message == f"input URL refused: {reason} (reached by a redirect)"
    # Refused without trying to connect: no connect timeout was waited out.
    assert time.monotonic() - started < 2
    assert server.paths() == ["/redirect", "/redirect"]
    _nothing_left(tmp_path)


async def test_too_many_redirects(server, tmp_path):
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), max_redirects=3)
    with pytest.raises(InvalidArgument, match=r"^input URL redirected more than 3 times$"):
        await download(f"{server.base}/loop", tmp_path / "x", policy=policy)
    assert len(server.seen) == 4
    _nothing_left(tmp_path)


async def test_loopback_is_refused_unless_allow_listed(server, tmp_path):
    with pytest.raises(InvalidArgument) as caught:
        await download(f"{server.base}/track.mp3", tmp_path / "x", policy=FetchPolicy())
    assert caught.value.message == "input URL refused: 127.0.0.1 is a loopback address"
    assert server.seen == []
    _nothing_left(tmp_path)
    # A network entry allows it as well as an exact address.
    policy = FetchPolicy(allowed_hosts=["127.0.0.0/8"])
    assert (await download(f"{server.base}/video", tmp_path / "x", policy=policy)).size == 4


async def test_a_name_resolving_to_loopback_is_refused(server, tmp_path):
    url = f"http://localhost:{server.port}/track.mp3"
    with pytest.raises(InvalidArgument) as caught:
        await download(url, tmp_path / "x", policy=FetchPolicy())
    assert re.fullmatch(
        r"input URL refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address",
        caught.value.message,
    )
    assert server.seen == []
    _nothing_left(tmp_path)


async def test_an_allow_listed_name_keeps_its_host_header(server, tmp_path):
    # localhost may resolve to ::1 first, where nothing listens: the next address is tried.
    policy = FetchPolicy(allowed_hosts=("LOCALHOST",))
    result = await download(f"http://localhost:{server.port}/video", tmp_path / "x", policy=policy)
    assert result.url == f"http://localhost:{server.port}/video"
    assert server.seen[0].headers["host"] == f"localhost:{server.port}"


async def test_connects_to_the_vetted_address_not_a_new_lookup(server, tmp_path):
    # media.example.test cannot resolve (.test is reserved), so reaching the server proves
    # the connection went to the address that was checked.
    resolve = _resolver({"media.example.test": ["127.0.0.1"]})
    policy = FetchPolicy(allowed_hosts=("127.0.0.0/8",))
    url = f"http://media.example.test:{server.port}/video"
    result = await download(url, tmp_path / "x", policy=policy, resolver=resolve)
    assert result.size == 4
    assert server.seen[0].headers["host"] == f"media.example.test:{server.port}"


async def test_every_resolved_address_must_be_allowed(server, tmp_path):
    resolve = _resolver({"media.example.test": ["127.0.0.1", "10.1.2.3"]})
    policy = FetchPolicy(allowed_hosts=("127.0.0.0/8",))
    with pytest.raises(InvalidArgument) as caught:
        await download(
            f"http://media.example.test:{server.port}/video",
            tmp_path / "x",
            policy=policy,
            resolver=resolve,
        )
    assert caught.value.message == (
        "input URL refused: media.example.test resolves to 10.1.2.3, a private address"
    )
    assert server.seen == []
    _nothing_left(tmp_path)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "ftp://example.com/a.mp3",
            "input URL refused: only http and https URLs are allowed, not ftp",
        ),
        ("file:///etc/passwd", "input URL refused: only http and https URLs are allowed, not file"),
        (
            "example.com/a.mp3",
            "input URL must start with http:// or https://",
        ),
        ("http:///a.mp3", "input URL has no host"),
        (
            "http://no-such-host.invalid/a.mp3",
            "input URL host no-such-host.invalid could not be resolved",
        ),
    ],
)
async def test_bad_urls_are_refused(tmp_path, url, message):
    with pytest.raises(InvalidArgument) as caught:
        await download(url, tmp_path / "x", policy=FetchPolicy(timeout=10))
    assert caught.value.message == message
    _nothing_left(tmp_path)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.2", "a loopback address"),
        ("::1", "a loopback address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a reserved address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("2002:7f00:1::", "a loopback address"),
        ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),
        ("192.0.2.1", "a private address"),
    ],
)
async def test_non_public_addresses_are_refused(address, reason):
    with pytest.raises(InvalidArgument) as caught:
        await check_url(
            "https://cdn.example.test/a.mp3",
            policy=FetchPolicy(),
            resolver=_resolver({"cdn.example.test": [address]}),
        )
    assert caught.value.message == (
        f"input URL refused: cdn.example.test resolves to {address}, {reason}"
    )


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
async def test_public_addresses_pass_the_check(address):
    found = await check_url(
        "https://cdn.example.test/a.mp3",
        policy=FetchPolicy(),
        resolver=_resolver({"cdn.example.test": [address, address]}),
    )
    assert found == [address]


async def test_a_stalled_body_times_out_within_the_limit(server, tmp_path):
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), timeout=1)
    started = time.monotonic()
    with pytest.raises(InvalidArgument, match=r"^input URL timed out after 1 s$"):
        await download(f"{server.base}/stall", tmp_path / "x", policy=policy)
    assert 0.9 < time.monotonic() - started < 2
    _nothing_left(tmp_path)


async def test_a_server_that_never_answers_hits_the_read_timeout(server, tmp_path):
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), timeout=10, read_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(InvalidArgument, match=r"^input URL timed out after 0.5 s without data$"):
        await download(f"{server.base}/stall-headers", tmp_path / "x", policy=policy)
    assert time.monotonic() - started < 2
    _nothing_left(tmp_path)


async def test_ip_literals_are_checked_without_a_lookup():
    with pytest.raises(InvalidArgument) as caught:
        await check_url("http://[::ffff:10.0.0.1]:8080/", policy=FetchPolicy(), resolver=None)
    assert caught.value.message == "input URL refused: ::ffff:10.0.0.1 is a private address"
    # Decimal and short forms reach the system resolver, which reads them as 127.0.0.1.
    with pytest.raises(InvalidArgument, match=r"resolves to 127\.0\.0\.1, a loopback"):
        await check_url("http://2130706433/", policy=FetchPolicy())


def test_content_type_for_put_reads_the_presigned_query():
    presigned = (
        "https://bucket.s3.amazonaws.com/audo-enhanced_foo.mp4?AWSAccessKeyId=ABC"
        "&Signature=e8O%3D&content-type=video%2Fmp4&Expires=1615340231"
    )
    assert content_type_for_put(presigned, "audio/mpeg") == "video/mp4"
    assert content_type_for_put("https://b/x?Content-Type=audio%2Fwav", "a/b") == "audio/wav"
    assert content_type_for_put("https://b/x?Signature=abc", "audio/mpeg") == "audio/mpeg"


async def test_put_sends_the_file_with_the_signed_content_type(server, tmp_path):
    source = tmp_path / "out.mp4"
    data = random.Random(7).randbytes(2 * 1024 * 1024 + 3)
    source.write_bytes(data)
    url = f"{server.base}/bucket/out.mp4?AWSAccessKeyId=ABC&content-type=video%2Fmp4&Expires=1"
    await upload(url, source, content_type=content_type_for_put(url, "audio/mpeg"), policy=LOCAL)
    [put] = server.seen
    assert put.method == "PUT"
    assert put.headers["content-type"] == "video/mp4"
    assert put.headers["content-length"] == str(len(data))
    assert "transfer-encoding" not in put.headers  # S3 refuses chunked uploads
    assert put.body == data


async def test_put_follows_307_with_the_body_and_checks_the_hop(server, tmp_path):
    source = tmp_path / "out.mp4"
    source.write_bytes(b"result")
    url = f"{server.base}/redirect?to=/bucket/out.mp4"
    await upload(url, source, content_type="video/mp4", policy=LOCAL)
    assert [(s.method, s.path, s.body) for s in server.seen][-1] == (
        "PUT",
        "/bucket/out.mp4",
        b"result",
    )
    with pytest.raises(InvalidArgument) as caught:
        await upload(
            f"{server.base}/redirect?to=http://10.0.0.1/bucket",
            source,
            content_type="video/mp4",
            policy=LOCAL,
        )
    assert caught.value.message == (
        "output URL refused: 10.0.0.1 is a private address (reached by a redirect)"
    )


async def test_put_refusals_and_errors_name_the_output_url(server, tmp_path):
    source = tmp_path / "out.mp4"
    source.write_bytes(b"result")
    with pytest.raises(InvalidArgument, match=r"^output URL answered 403 Forbidden$"):
        await upload(f"{server.base}/denied", source, content_type="video/mp4", policy=LOCAL)
    with pytest.raises(InvalidArgument, match=r"^output URL answered 302 Found$"):
        await upload(
            f"{server.base}/redirect?code=302&to=/bucket/out.mp4",
            source,
            content_type="video/mp4",
            policy=LOCAL,
        )
    with pytest.raises(
        InvalidArgument, match=r"^output URL refused: 169.254.169.254 is a cloud metadata"
    ):
        await upload(
            "http://169.254.169.254/latest", source, content_type="a/b", policy=FetchPolicy()
        )
    assert [s.path.split("?")[0] for s in server.seen] == ["/denied", "/redirect"]


def test_policy_validates_its_settings():
    with pytest.raises(ValueError):
        FetchPolicy(max_bytes=0)
    with pytest.raises(ValueError):
        FetchPolicy(timeout=0)
    with pytest.raises(ValueError):
        FetchPolicy(allowed_hosts=("",))
    assert FetchPolicy(allowed_hosts=["a"]) == FetchPolicy(allowed_hosts=("a",))
