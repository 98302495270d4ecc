"""Callback URLs that cannot reach inside our network: the subscribe-time check and the delivery session.

No internet and no real DNS: names resolve through a fake resolver; IP literals through
``getaddrinfo`` with ``AI_NUMERICHOST``, which never queries DNS."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connector.errors import Problem
from connector.webhooks import ssrf
from connector.webhooks.ssrf import (
    BlockedAddress,
    PinnedAddressAdapter,
    address_refusal,
    check_callback_url,
    delivery_session,
    embedded_ipv4,
)

NAMES: dict[str, list[str]] = {
    "hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "mixed.example.com": ["93.184.215.14", "10.1.2.3"],
    "mapped.example.com": ["::ffff:10.0.0.1"],
    "metadata.google.internal": ["93.184.215.14"],  # refused by name whatever it resolves to
}


class FakeResolver:
    """``socket.getaddrinfo`` over a table; ``answers`` may give a different list per call (rebinding)."""

    def __init__(self, names: dict[str, list[str]] | None = None, answers: dict[str, list[list[str]]] | None = None):
        self.names = names if names is not None else NAMES
        self.answers = answers or {}
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0):
        self.calls.append(host)
        if host in self.answers:
            addresses = self.answers[host].pop(0)
        elif host in self.names:
            addresses = self.names[host]
        else:
            try:
                return socket.getaddrinfo(host, port, family, type, proto, socket.AI_NUMERICHOST)
            except socket.gaierror:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        infos = []
        for address in addresses:
            af = socket.AF_INET6 if ":" in address else socket.AF_INET
            if family in (0, af):
                sockaddr = (address, port, 0, 0) if af == socket.AF_INET6 else (address, port)
                infos.append((af, socket.SOCK_STREAM, 6, "", sockaddr))
        return infos


# url → None if allowed, else a fragment of the message naming why it is refused
CASES: list[tuple[str, str | None]] = [
    ("http://8.8.8.8/hook", None),
    ("https://hooks.example.com/events?x=1", None),
    ("http://8.8.8.8:1/any-port-is-fine", None),
    ("http://[2606:4700::1111]/hook", None),
    ("http://[::ffff:8.8.8.8]/hook", None),  # mapped public IPv4 is that public IPv4
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a cloud metadata address"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "a cloud metadata address"),
    ("http://100.100.100.200/latest/meta-data/", "a cloud metadata address"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is a cloud metadata host"),
    ("http://METADATA.google.internal./computeMetadata/v1/", "a cloud metadata host"),
    ("http://127.0.0.1/hook", "resolves to 127.0.0.1, a loopback address"),
    ("http://2130706433/hook", "resolves to 127.0.0.1, a loopback address"),  # decimal form of 127.0.0.1
    ("http://10.0.0.1/hook", "resolves to 10.0.0.1, a private address"),
    ("http://192.168.1.10:8080/hook", "a private address"),
    ("http://[::1]/hook", "resolves to ::1, a loopback address"),
    ("http://[::ffff:127.0.0.1]/hook", "resolves to ::ffff:7f00:1 (127.0.0.1), a loopback address"),
    ("http://mapped.example.com/hook", "(10.0.0.1), a private address"),
    ("http://[::127.0.0.1]/hook", "a reserved or non-public address"),  # IPv4-compatible
    ("http://[64:ff9b::a00:1]/hook", "a reserved or non-public address"),  # NAT64 of 10.0.0.1
    ("http://[64:ff9b::a9fe:a9fe]/hook", "a cloud metadata address"),  # NAT64 of 169.254.169.254
    ("http://[fec0::1]/hook", "a reserved or non-public address"),  # site-local
    ("http://[fe80::1]/hook", "a link-local address"),
    ("http://[fc00::1]/hook", "a private address"),
    ("http://0.0.0.0/hook", "resolves to 0.0.0.0, an unspecified address"),
    ("http://100.64.0.1/hook", "resolves to 100.64.0.1, a shared (carrier-grade NAT) address"),
    ("http://224.0.0.1/hook", "a multicast address"),
    ("http://240.0.0.1/hook", "not"),  # reserved 240/4: private to older Pythons, reserved to newer
    ("http://mixed.example.com/hook", "mixed.example.com resolves to 10.1.2.3, a private address"),
    ("http://nowhere.example.com/hook", "the host nowhere.example.com cannot be resolved"),
    ("ftp://8.8.8.8/file", "the scheme must be http or https, not ftp"),
    ("file:///etc/passwd", "not file"),
    ("gopher://8.8.8.8:6379/_", "not gopher"),
    ("//8.8.8.8/hook", "not missing"),
    ("http://user:pw@8.8.8.8/hook", "must not contain a user name or password"),
    ("http://user@8.8.8.8/hook", "must not contain a user name or password"),
    ("http:///hook", "not a valid URL"),
    ("http://8.8.8.8:99999/hook", "not a valid URL"),
]


@pytest.mark.parametrize(("url", "refusal"), CASES)
def test_callback_url_table(url: str, refusal: str | None) -> None:
    resolve = FakeResolver()
    if refusal is None:
        assert check_callback_url(url, allow_private=False, resolve=resolve)
        return
    with pytest.raises(Problem) as info:
        check_callback_url(url, allow_private=False, field="target_url", resolve=resolve)
    problem = info.value
    assert problem.status == 422
    assert problem.errors is not None and list(problem.errors) == ["target_url"]
    if refusal != "not":
        assert refusal in problem.errors["target_url"][0]
    assert problem.detail.startswith("The target_url is not allowed: ")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:5000/hook", True),
        ("http://10.0.0.1/hook", True),
        ("http://[::1]/hook", True),
        ("http://mixed.example.com/hook", True),
        ("http://169.254.169.254/latest/meta-data/", False),  # metadata: never, even in development
        ("http://[::ffff:169.254.169.254]/", False),
        ("http://metadata.google.internal/", False),
        ("http://user:pw@127.0.0.1/hook", False),
        ("ftp://127.0.0.1/", False),
    ],
)
def test_allow_private_allows_private_but_not_metadata(url: str, allowed: bool) -> None:
    if allowed:
        assert check_callback_url(url, allow_private=True, resolve=FakeResolver())
    else:
        with pytest.raises(Problem):
            check_callback_url(url, allow_private=True, resolve=FakeResolver())


def test_returns_the_url_requests_will_send() -> None:
    url = check_callback_url("  HTTPS://Hooks.Example.COM/a b?x=1 ", allow_private=False, resolve=FakeResolver())
    assert url == "https://hooks.example.com/a%20b?x=1"


def test_azure_wireserver_is_refused_though_public() -> None:
    import ipaddress

    assert ipaddress.ip_address("168.63.129.16").is_global
    assert address_refusal(ipaddress.ip_address("168.63.129.16"), allow_private=True) == "a cloud metadata address"


# --- IPv6 forms that carry an IPv4 address: judged by that IPv4 address too -------------------------

# (form, IPv6 literal) for 169.254.169.254 in every IPv6 form that embeds an IPv4 address
METADATA_FORMS: list[tuple[str, str]] = [
    ("ipv4-mapped", "::ffff:169.254.169.254"),
    ("ipv4-compatible", "::a9fe:a9fe"),
    ("siit", "::ffff:0:a9fe:a9fe"),
    ("siit-dotted", "::ffff:0:169.254.169.254"),
    ("6to4", "2002:a9fe:a9fe::"),
    ("6to4-host", "2002:a9fe:a9fe:1::1"),
    ("teredo", "2001:0:4136:e378:8000:63bf:5601:5601"),  # client 169.254.169.254 XOR-ed, port 40000
    ("nat64", "64:ff9b::a9fe:a9fe"),
    ("nat64-dotted", "64:ff9b::169.254.169.254"),
    ("nat64-local-96", "64:ff9b:1::a9fe:a9fe"),
    ("nat64-local-48", "64:ff9b:1:a9fe:a9:fe00::"),  # RFC 6052 layout of a /48 prefix, around the u octet
    ("nat64-local-56", "64:ff9b:1:a9:fe:a9fe::"),
    ("nat64-local-64", "64:ff9b:1:0:a9:fea9:fe00:0"),
    ("nat64-local-96-subnet", "64:ff9b:1:abcd:0:1:a9fe:a9fe"),
]
# the other metadata addresses the module lists, in a form each
OTHER_METADATA: list[tuple[str, str]] = [
    ("alibaba-6to4", "2002:6464:64c8::1"),  # 100.100.100.200
    ("alibaba-nat64", "64:ff9b::100.100.100.200"),
    ("ecs-siit", "::ffff:0:a9fe:aa02"),  # 169.254.170.2
    ("azure-wireserver-nat64", "64:ff9b::a83f:8110"),  # 168.63.129.16
    ("azure-wireserver-6to4", "2002:a83f:8110::"),
    ("oracle-teredo", "2001:0:4136:e378:8000:63bf:3fff:ff3f"),  # 192.0.0.192
    ("oracle-nat64-local", "64:ff9b:1::c000:c0"),
]
# the same forms around a public, a private and a loopback IPv4 address (never metadata)
OTHER_FORMS: list[tuple[str, str, str]] = [
    ("6to4", "2002:808:808::1", "8.8.8.8"),
    ("6to4", "2002:a00:1::1", "10.0.0.1"),
    ("siit", "::ffff:0:808:808", "8.8.8.8"),
    ("siit", "::ffff:0:7f00:1", "127.0.0.1"),
    ("teredo", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", "8.8.8.8"),
    ("teredo", "2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1"),
    ("nat64", "64:ff9b::808:808", "8.8.8.8"),
    ("nat64", "64:ff9b::a00:1", "10.0.0.1"),
    ("nat64-local", "64:ff9b:1::808:808", "8.8.8.8"),
    ("nat64-local", "64:ff9b:1::7f00:1", "127.0.0.1"),
    ("ipv4-compatible", "::808:808", "8.8.8.8"),
]
ALL_METADATA = [pytest.param(address, id=form) for form, address in METADATA_FORMS + OTHER_METADATA]
ALL_OTHERS = [pytest.param(address, inner, id=f"{form}-{inner}") for form, address, inner in OTHER_FORMS]


@pytest.mark.parametrize(
    ("address", "inner"),
    [pytest.param(address, "169.254.169.254", id=form) for form, address in METADATA_FORMS]
    + [pytest.param(address, inner, id=f"{form}-{inner}") for form, address, inner in OTHER_FORMS],
)
def test_embedded_ipv4_is_found(address: str, inner: str) -> None:
    import ipaddress

    assert ipaddress.ip_address(inner) in embedded_ipv4(ipaddress.ip_address(address))


def test_teredo_client_is_the_xored_address_and_plain_ipv6_embeds_nothing() -> None:
    import ipaddress

    server, client = embedded_ipv4(ipaddress.ip_address("2001:0:4136:e378:8000:63bf:5601:5601"))
    assert (str(server), str(client)) == ("65.54.227.120", "169.254.169.254")
    for plain in ("2606:4700::1111", "fd00:ec2::254", "fe80::1", "8.8.8.8"):
        assert embedded_ipv4(ipaddress.ip_address(plain)) == []


@pytest.mark.parametrize("allow_private", [True, False], ids=["allow-private", "strict"])
@pytest.mark.parametrize("address", ALL_METADATA)
def test_metadata_refused_in_every_embedding_form_at_subscribe(address: str, allow_private: bool) -> None:
    with pytest.raises(Problem) as info:
        check_callback_url(f"http://[{address}]/latest/meta-data/", allow_private=allow_private, resolve=FakeResolver())
    assert "a cloud metadata address" in info.value.errors["callback_url"][0]


@pytest.mark.parametrize("allow_private", [True, False], ids=["allow-private", "strict"])
@pytest.mark.parametrize(
    "url", ["http://2852039166/", "http://0251.0376.0251.0376/", "http://0xa9fea9fe/", "http://169.254.43518/"]
)
def test_metadata_refused_in_other_ipv4_spellings(url: str, allow_private: bool) -> None:
    with pytest.raises(Problem, match="a cloud metadata address"):
        check_callback_url(url, allow_private=allow_private, resolve=FakeResolver())


@pytest.mark.parametrize(("address", "inner"), ALL_OTHERS)
def test_other_embedding_forms_allowed_with_allow_private_refused_without(address: str, inner: str) -> None:
    url = f"http://[{address}]/hook"
    assert check_callback_url(url, allow_private=True, resolve=FakeResolver()) == url
    with pytest.raises(Problem) as info:
        check_callback_url(url, allow_private=False, resolve=FakeResolver())
    message = info.value.errors["callback_url"][0]
    assert message.startswith(f"{address} resolves to {address}") and "metadata" not in message


def test_refusal_names_the_embedded_address() -> None:
    with pytest.raises(Problem) as info:
        check_callback_url("http://[64:ff9b:1::a9fe:a9fe]/", allow_private=True, resolve=FakeResolver())
    assert info.value.errors["callback_url"][0] == (
        "64:ff9b:1::a9fe:a9fe resolves to 64:ff9b:1::a9fe:a9fe (169.254.169.254), a cloud metadata address"
    )
    with pytest.raises(Problem) as info:
        check_callback_url("http://[2002:a00:1::1]/", allow_private=False, resolve=FakeResolver())
    assert "2002:a00:1::1 (10.0.0.1), a reserved or non-public address" in info.value.errors["callback_url"][0]


def test_a_public_looking_ipv6_embedding_a_private_ipv4_is_refused(monkeypatch) -> None:
    """Should an embedding range ever count as public (ipaddress's tables change between Pythons),
    the embedded address still decides."""
    import ipaddress

    monkeypatch.setattr(ssrf, "_own_refusal", lambda ip, own=ssrf._own_refusal: None if ip.version == 6 else own(ip))
    assert address_refusal(ipaddress.ip_address("2002:a00:1::1"), allow_private=False) == (
        "a private address embedded in an IPv6 address"
    )
    assert address_refusal(ipaddress.ip_address("2002:808:808::1"), allow_private=False) is None


@pytest.fixture
def ipv6_capable(monkeypatch) -> None:
    """Resolve as a host with IPv6 would (urllib3 asks only for IPv4 on a host without it)."""
    monkeypatch.setattr(ssrf, "allowed_gai_family", lambda: socket.AF_UNSPEC)


@pytest.mark.parametrize("allow_private", [True, False], ids=["allow-private", "strict"])
@pytest.mark.parametrize("address", ALL_METADATA)
def test_metadata_refused_in_every_embedding_form_at_send(ipv6_capable, address: str, allow_private: bool) -> None:
    """At delivery time the name may resolve to an embedding form (a DNS64 resolver synthesises
    ``64:ff9b::a9fe:a9fe`` for a name whose only record is 169.254.169.254): refused before connecting."""
    resolve = FakeResolver({"dns64.example.com": [address]})
    session = delivery_session(allow_private=allow_private, timeout=1, resolve=resolve)
    with pytest.raises(BlockedAddress, match="a cloud metadata address"):
        session.post("http://dns64.example.com/hook", data=b"{}")
    with pytest.raises(BlockedAddress, match="a cloud metadata address"):
        delivery_session(allow_private=allow_private, timeout=1, resolve=FakeResolver()).post(
            f"http://[{address}]/hook", data=b"{}"
        )


@pytest.mark.parametrize(("address", "inner"), ALL_OTHERS)
def test_other_embedding_forms_pinned_with_allow_private_refused_without(ipv6_capable, address: str, inner: str):
    """The pinned connection check, without connecting (these addresses lead nowhere here): allowed,
    the pool is keyed to the checked address; strict, refused."""
    request = requests.Request("POST", "http://hook.example.com:8080/hook", data=b"{}").prepare()
    resolve = FakeResolver({"hook.example.com": [address]})
    host_params, _ = PinnedAddressAdapter(allow_private=True, resolve=resolve).build_connection_pool_key_attributes(
        request, True
    )
    assert host_params["host"] == address and request.headers["Host"] == "hook.example.com:8080"
    with pytest.raises(BlockedAddress, match=f"resolves to {address}"):
        PinnedAddressAdapter(allow_private=False, resolve=resolve).build_connection_pool_key_attributes(request, True)


def test_a_mixed_answer_with_one_embedded_metadata_address_is_refused_at_send(ipv6_capable, server) -> None:
    resolve = FakeResolver({"hook.example.com": ["127.0.0.1", "64:ff9b::a9fe:a9fe"]})
    with pytest.raises(BlockedAddress, match=r"64:ff9b::a9fe:a9fe \(169\.254\.169\.254\), a cloud metadata address"):
        delivery_session(allow_private=True, timeout=5, resolve=resolve).post(
            f"http://hook.example.com:{server.server_port}/hook", data=b"{}"
        )
    assert server.seen == []


# --- the delivery session, against a real server on 127.0.0.1 ---------------------------------------


class Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.seen.append((self.path, dict(self.headers), body))  # type: ignore[attr-defined]
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/target")
        else:
            self.send_response(200)
            self.send_header("Set-Cookie", "session=abc; Path=/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen = []  # type: ignore[attr-defined]
    server.handle_error = lambda *args: None  # type: ignore[method-assign]  # failed handshakes are expected
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    yield from _serve()


def test_local_server_reached_only_with_allow_private(server) -> None:
    url = f"http://127.0.0.1:{server.server_port}/hook"
    response = delivery_session(allow_private=True, timeout=5).post(url, data=b'{"a":1}')
    assert response.status_code == 200
    assert server.seen[0][0] == "/hook" and server.seen[0][2] == b'{"a":1}'

    with pytest.raises(BlockedAddress) as info:
        delivery_session(allow_private=False, timeout=5).post(url, data=b"{}")
    assert info.value.reason == "127.0.0.1 resolves to 127.0.0.1, a loopback address"
    assert len(server.seen) == 1  # nothing was sent


def test_rebinding_refused_at_connect_time() -> None:
    resolve = FakeResolver(answers={"rebind.example.com": [["93.184.215.14"], ["127.0.0.1"]]})
    url = check_callback_url("http://rebind.example.com/hook", allow_private=False, resolve=resolve)
    with pytest.raises(BlockedAddress, match=r"resolves to 127\.0\.0\.1, a loopback address"):
        delivery_session(allow_private=False, timeout=5, resolve=resolve).post(url, data=b"{}")


def test_connection_goes_to_the_checked_address(server) -> None:
    """Resolved once, connected to that address: a second look-up would answer 192.0.2.1 (TEST-NET,
    unroutable) and urllib3's own would find no such name; the request still reaches 127.0.0.1."""
    resolve = FakeResolver(answers={"hook.example.com": [["127.0.0.1"], ["192.0.2.1"]]})
    session = delivery_session(allow_private=True, timeout=5, resolve=resolve)
    response = session.post(f"http://hook.example.com:{server.server_port}/hook", data=b"{}")
    assert response.status_code == 200
    assert resolve.calls == ["hook.example.com"]
    assert server.seen[0][1]["Host"] == f"hook.example.com:{server.server_port}"


def test_redirect_not_followed(server) -> None:
    session = delivery_session(allow_private=True, timeout=5)
    url = f"http://127.0.0.1:{server.server_port}/redirect"
    for response in (session.post(url, data=b"{}"), session.post(url, data=b"{}", allow_redirects=True)):
        assert response.status_code == 302
    assert [path for path, _, _ in server.seen] == ["/redirect", "/redirect"]


def test_no_cookies_and_no_environment_proxy(server, monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("http_proxy", "http://10.9.9.9:3128")
    session = delivery_session(allow_private=True, timeout=5)
    url = f"http://127.0.0.1:{server.server_port}/hook"
    session.post(url, data=b"{}")
    session.post(url, data=b"{}")
    assert len(server.seen) == 2  # reached directly, not through the proxy
    assert "Cookie" not in server.seen[1][1]


# --- https: pinned to the IP, SNI and certificate checked for the hostname -------------------------


def _self_signed(name: str, tmp_path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@pytest.mark.parametrize(("cert_name", "ok"), [("hook.example.com", True), ("other.example.com", False)])
def test_https_pinned_with_sni_and_certificate_for_the_hostname(tmp_path, cert_name: str, ok: bool) -> None:
    cert_file, key_file = _self_signed(cert_name, tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    sni: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: sni.append(name)  # type: ignore[assignment]
    for server in _serve(context):
        session = delivery_session(
            allow_private=True, timeout=5, resolve=FakeResolver({"hook.example.com": ["127.0.0.1"]})
        )
        session.verify = cert_file
        url = f"https://hook.example.com:{server.server_port}/hook"
        if ok:
            assert session.post(url, data=b"{}").status_code == 200
            assert server.seen[0][1]["Host"] == f"hook.example.com:{server.server_port}"
        else:
            with pytest.raises(requests.exceptions.SSLError, match=r"hook\.example\.com"):
                session.post(url, data=b"{}")
        assert sni == ["hook.example.com"]


def test_google_clouds_ipv6_metadata_address_is_refused_even_with_private_callbacks():
    from connector.webhooks.ssrf import address_refusal

    assert address_refusal(ipaddress.ip_address("fd20:ce::254"), allow_private=True) == "a cloud metadata address"
