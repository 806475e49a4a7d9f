"""Fetches caller-given http(s) URLs to files and PUTs files to them, refusing internal hosts."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import mimetypes
import os
import re
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path, PurePosixPath
from typing import BinaryIO, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from services.common.errors import InvalidArgument, PayloadTooLarge

__all__ = [
    "FetchPolicy",
    "FetchResult",
    "ProgressCallback",
    "Resolver",
    "check_url",
    "content_type_for_put",
    "download",
    "upload",
]

logger = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves ``(host, port)`` to IP address strings; the default asks the event loop."""

ProgressCallback = Callable[[int, int | None], Awaitable[None]]
"""Awaited with ``(bytes_done, bytes_total_or_None)`` while a download runs."""

_T = TypeVar("_T")
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_CHUNK = 1 << 20
_PROGRESS_STEP = 1 << 20
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# A PUT may only follow redirects that keep the method and the body.
_PUT_REDIRECTS = frozenset({307, 308})
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
# mimetypes lacks some common media types or maps them to rare extensions (.mpv, .oga).
_EXTENSIONS = {
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/aac": "aac",
    "audio/ogg": "ogg",
    "audio/opus": "opus",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/webm": "webm",
    "video/webm": "webm",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/x-matroska": "mkv",
    "audio/x-matroska": "mka",
}
_EXTENSION_RE = re.compile(r"[a-z0-9]{1,10}")


@dataclass(frozen=True)
class FetchPolicy:
    """Limits on fetching a URL.

    Attributes:
        allowed_hosts: hostnames (exact, any case) or IP networks ("127.0.0.1",
            "10.0.0.0/8") that are allowed although not public; everything else must
            resolve only to public addresses.
        max_bytes: the largest body accepted, in bytes.
        timeout: seconds for the whole transfer, redirects and name lookups included.
        connect_timeout: seconds to open each connection.
        read_timeout: seconds to wait for each piece of the answer.
        max_redirects: redirects followed before giving up.
    """

    allowed_hosts: tuple[str, ...] = ()
    max_bytes: int = 500_000_000
    timeout: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_redirects: int = 5
    _hostnames: frozenset[str] = field(init=False, repr=False, compare=False)
    _networks: tuple[_Network, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Settings often hand in a list; keep the policy hashable.
        object.__setattr__(self, "allowed_hosts", tuple(self.allowed_hosts))
        if self.max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if min(self.timeout, self.connect_timeout, self.read_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        hostnames: set[str] = set()
        networks: list[_Network] = []
        for entry in self.allowed_hosts:
            text = entry.strip().strip("[]").rstrip(".").lower()
            if not text:
                raise ValueError("allowed_hosts entries must not be empty")
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                hostnames.add(text)
        object.__setattr__(self, "_hostnames", frozenset(hostnames))
        object.__setattr__(self, "_networks", tuple(networks))

    def allows_host(self, host: str) -> bool:
        """Whether ``host`` (a name as it appears in a URL) is named by the allow-list."""
        return host.rstrip(".").lower() in self._hostnames

    def allows_address(self, address: _Address) -> bool:
        """Whether ``address`` lies in one of the allow-list's networks."""
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(a in net for a in candidates for net in self._networks)


@dataclass(frozen=True)
class FetchResult:
    """A finished download.

    Attributes:
        url: the URL the body came from, after redirects.
        content_type: the media type the server named ("audio/mpeg"), without parameters.
        size: the bytes written.
        filename: a safe base name from Content-Disposition or the URL path, if any.
        extension: a lower-case extension without the dot ("mp3") from the file name
            or, failing that, the content type.
    """

    url: str
    content_type: str | None
    size: int
    filename: str | None
    extension: str | None


async def check_url(
    url: str,
    *,
    policy: FetchPolicy,
    label: str = "input URL",
    resolver: Resolver | None = None,
) -> list[str]:
    """Checks a URL's scheme and every address its host resolves to, without connecting.

    Args:
        url: the URL as the caller gave it.
        policy: the allow-list.
        label: how error messages name the URL ("input URL", "output URL").
        resolver: resolves host names; the event loop's getaddrinfo by default.

    Returns:
        The vetted addresses, in the resolver's order.

    Raises:
        InvalidArgument: for a non-http(s) URL, an unresolvable host or a refused address.
    """
    return (await _vet(_parse(url, label), policy, label, resolver or _system_resolve, ""))[1]


async def download(
    url: str,
    dest: Path,
    *,
    policy: FetchPolicy,
    on_progress: ProgressCallback | None = None,
    resolver: Resolver | None = None,
) -> FetchResult:
    """Streams an http(s) URL into ``dest`` (written beside and renamed, so never half there).

    Every hop of a redirect chain is checked like the first; connections go to the
    vetted address with the original Host header and TLS server name.

    Args:
        url: the URL as the caller gave it.
        dest: the file to create or replace; its folder must exist.
        policy: the allow-list, size cap and timeouts.
        on_progress: awaited with (bytes done, total or None) about every MiB and at the end.
        resolver: resolves host names; the event loop's getaddrinfo by default.

    Returns:
        The final URL, content type, size and a file-name guess.

    Raises:
        InvalidArgument: for a refused URL, a timeout, a transport failure or a non-2xx answer.
        PayloadTooLarge: for a body over ``policy.max_bytes``.
    """
    label = "input URL"
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as writer:
            async with _client(policy) as client:
                result = await _run(
                    _download(client, url, writer, policy, label, on_progress, resolver),
                    policy,
                    label,
                )
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return result


async def upload(
    url: str,
    source: Path,
    *,
    content_type: str,
    policy: FetchPolicy,
    resolver: Resolver | None = None,
) -> None:
    """Streams ``source`` to ``url`` by HTTP PUT, as a presigned S3 URL expects.

    The body goes with a Content-Length (S3 refuses chunked uploads). Only 307 and 308
    redirects are followed, each checked like the first hop.

    Args:
        url: the URL as the caller gave it.
        source: the file to send.
        content_type: the Content-Type header; see content_type_for_put.
        policy: the allow-list and timeouts (max_bytes does not apply).
        resolver: resolves host names; the event loop's getaddrinfo by default.

    Raises:
        InvalidArgument: for a refused URL, a timeout, a transport failure or a non-2xx answer.
    """
    label = "output URL"
    size = source.stat().st_size
    headers = {"Content-Type": content_type, "Content-Length": str(size)}

    async def put() -> None:
        async with _client(policy) as client:
            response, _ = await _open(
                client, "PUT", url, policy, label, resolver, headers=headers, source=source
            )
            await response.aclose()

    await _run(put(), policy, label)


def content_type_for_put(url: str, default: str) -> str:
    """Returns the content type a presigned URL's signature expects, else ``default``.

    Presigned S3 URLs may name it in a ``content-type`` query parameter (any case).
    """
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key.lower() == "content-type" and value.strip():
            return value.strip()
    return default


def _client(policy: FetchPolicy) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=policy.connect_timeout,
            read=policy.read_timeout,
            write=policy.read_timeout,
            pool=policy.connect_timeout,
        ),
        follow_redirects=False,
        # Proxies from the environment would resolve names themselves, past the checks.
        trust_env=False,
        # Pooled connections are keyed by the vetted IP, not the name: reusing one across
        # hosts would carry a TLS session verified for another name.
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={"User-Agent": "clean-tracks", "Accept-Encoding": "identity"},
    )


async def _run(work: Awaitable[_T], policy: FetchPolicy, label: str) -> _T:
    deadline = asyncio.timeout(policy.timeout)
    try:
        async with deadline:
            return await work
    except TimeoutError:
        if not deadline.expired():
            raise
        raise InvalidArgument(f"{label} timed out after {policy.timeout:g} s") from None


async def _download(
    client: httpx.AsyncClient,
    url: str,
    writer: BinaryIO,
    policy: FetchPolicy,
    label: str,
    on_progress: ProgressCallback | None,
    resolver: Resolver | None,
) -> FetchResult:
    response, final = await _open(client, "GET", url, policy, label, resolver)
    try:
        total = _content_length(response)
        if total is not None and total > policy.max_bytes:
            raise _too_large(label, policy)
        done = 0
        reported = 0
        async for chunk in response.aiter_bytes():
            done += len(chunk)
            if done > policy.max_bytes:
                raise _too_large(label, policy)
            writer.write(chunk)
            if on_progress is not None and done - reported >= _PROGRESS_STEP:
                reported = done
                await on_progress(done, total)
        if on_progress is not None and done != reported:
            await on_progress(done, total)
    except httpx.HTTPError as exc:
        raise _transport_error(exc, label, policy, final.host) from exc
    finally:
        await response.aclose()
    content_type = _media_type(response.headers.get("content-type"))
    filename = _filename(response.headers.get("content-disposition"), final)
    return FetchResult(
        url=str(final),
        content_type=content_type,
        size=done,
        filename=filename,
        extension=_extension(filename, content_type),
    )


async def _open(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    policy: FetchPolicy,
    label: str,
    resolver: Resolver | None,
    *,
    headers: dict[str, str] | None = None,
    source: Path | None = None,
) -> tuple[httpx.Response, httpx.URL]:
    """Sends the request hop by hop; returns a 2xx streaming response and its logical URL."""
    resolve = resolver or _system_resolve
    follow = _REDIRECTS if method == "GET" else _PUT_REDIRECTS
    current = _parse(url, label)
    for hop in range(policy.max_redirects + 1):
        where = " (reached by a redirect)" if hop else ""
        current, addresses = await _vet(current, policy, label, resolve, where)
        response = await _send_pinned(
            client, method, current, addresses, policy, label, headers, source
        )
        if response.status_code in follow:
            await response.aclose()
            location = response.headers.get("location")
            if not location:
                raise InvalidArgument(
                    f"{label} answered {_status(response)} without a Location{where}"
                )
            try:
                current = current.join(location)
            except httpx.InvalidURL:
                raise InvalidArgument(f"{label} redirected to an invalid URL") from None
            continue
        if not response.is_success:
            await response.aclose()
            raise InvalidArgument(f"{label} answered {_status(response)}{where}")
        return response, current
    raise InvalidArgument(f"{label} redirected more than {policy.max_redirects} times")


async def _send_pinned(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL,
    addresses: Sequence[str],
    policy: FetchPolicy,
    label: str,
    headers: dict[str, str] | None,
    source: Path | None,
) -> httpx.Response:
    """Connects to the vetted addresses in turn, never re-resolving the name (DNS rebinding)."""
    host = url.raw_host.decode("ascii")
    last: httpx.HTTPError | None = None
    for address in addresses:
        request = client.build_request(
            method,
            url.copy_with(host=address),
            headers={**(headers or {}), "Host": url.netloc.decode("ascii")},
            content=_read_chunks(source) if source is not None else None,
            # The TLS server name and certificate check use the name, not the address.
            extensions={"sni_hostname": host} if url.scheme == "https" else None,
        )
        try:
            return await client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            last = exc
        except httpx.HTTPError as exc:
            raise _transport_error(exc, label, policy, url.host) from exc
    assert last is not None
    raise _transport_error(last, label, policy, url.host) from last


async def _read_chunks(path: Path) -> AsyncIterator[bytes]:
    with open(path, "rb") as reader:
        while chunk := reader.read(_CHUNK):
            yield chunk


def _parse(url: str, label: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise InvalidArgument(f"{label} is not a valid URL") from None
    return parsed


async def _vet(
    url: httpx.URL, policy: FetchPolicy, label: str, resolve: Resolver, where: str
) -> tuple[httpx.URL, list[str]]:
    if not url.scheme:
        raise InvalidArgument(f"{label} must start with http:// or https://{where}")
    if url.scheme not in ("http", "https"):
        raise InvalidArgument(
            f"{label} refused: only http and https URLs are allowed, not {url.scheme}{where}"
        )
    if not url.raw_host:
        raise InvalidArgument(f"{label} has no host{where}")
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    literal = _ip(host)
    if literal is not None:
        found: Sequence[str] = [host]
    else:
        try:
            found = await resolve(host, port)
        except OSError:
            raise InvalidArgument(f"{label} host {url.host} could not be resolved{where}") from None
        if not found:
            raise InvalidArgument(f"{label} host {url.host} could not be resolved{where}")
    addresses = list(dict.fromkeys(found))
    if policy.allows_host(host):
        return url, addresses
    for text in addresses:
        address = _ip(text)
        if address is None:
            raise InvalidArgument(f"{label} host {url.host} resolved to no IP address{where}")
        if policy.allows_address(address):
            continue
        reason = _refusal(address)
        if reason is None:
            continue
        message = (
            f"{label} refused: {text} is {reason}{where}"
            if literal is not None
            else f"{label} refused: {url.host} resolves to {text}, {reason}{where}"
        )
        logger.info("%s", message)
        raise InvalidArgument(message)
    return url, addresses


def _ip(text: str) -> _Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _refusal(address: _Address) -> str | None:
    """Why an address is not public, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            # The packet ends up at the embedded IPv4 address; judge that one.
            inner = _refusal(embedded)
            if inner is not None or address.ipv4_mapped is not None or address in _NAT64:
                return inner
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address in _SHARED_ADDRESS_SPACE:
        return "a carrier-grade NAT address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


async def _system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _status(response: httpx.Response) -> str:
    # The standard phrase, not the server's: the message reaches users.
    phrase = httpx.codes.get_reason_phrase(response.status_code)
    return f"{response.status_code} {phrase}".rstrip()


def _too_large(label: str, policy: FetchPolicy) -> PayloadTooLarge:
    return PayloadTooLarge(f"{label} is larger than the {_size(policy.max_bytes)} limit")


def _size(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def _transport_error(
    exc: httpx.HTTPError, label: str, policy: FetchPolicy, host: str
) -> InvalidArgument:
    logger.info("%s failed: %r", label, exc)
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return InvalidArgument(
            f"{label} timed out after {policy.connect_timeout:g} s connecting to {host}"
        )
    if isinstance(exc, httpx.TimeoutException):
        return InvalidArgument(f"{label} timed out after {policy.read_timeout:g} s without data")
    if isinstance(exc, httpx.ConnectError):
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return InvalidArgument(f"{label} refused: the TLS certificate of {host} is not valid")
        return InvalidArgument(f"{label} could not be reached: connecting to {host} failed")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return InvalidArgument(f"{label} could not be fetched: the connection broke off")
    return InvalidArgument(f"{label} could not be fetched")


def _media_type(value: str | None) -> str | None:
    if not value:
        return None
    media = value.split(";", 1)[0].strip().lower()
    return media or None


def _filename(disposition: str | None, url: httpx.URL) -> str | None:
    name = None
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        # get_filename decodes RFC 2231 filename* and prefers it to filename.
        name = message.get_filename()
    if not name:
        name = PurePosixPath(url.path).name  # httpx has decoded the path once already
    # Only a base name: no folders, no control characters, no hidden files.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return name[:255] or None


def _extension(filename: str | None, content_type: str | None) -> str | None:
    if filename and "." in filename:
        ext = filename.rsplit(".", 1)[1].lower()
        if _EXTENSION_RE.fullmatch(ext):
            return ext
    if content_type:
        if content_type in _EXTENSIONS:
            return _EXTENSIONS[content_type]
        guess = mimetypes.guess_extension(content_type)
        if guess and guess != ".bin":
            return guess.lstrip(".")
    return None
