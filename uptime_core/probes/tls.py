"""TLS contexts shared by the probes, and reading a peer certificate's expiry."""

from __future__ import annotations

import functools
import ssl
from datetime import UTC, datetime

import httpx

_SEQUENCE = 0x30
_EXPLICIT_VERSION = 0xA0
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18


@functools.cache
def client_ssl_context(verify: bool) -> ssl.SSLContext:
    """One client context per verification mode, built once: building one costs milliseconds.

    Verification uses certifi's bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set at the
    first probe (the same rule httpx follows).
    """
    return httpx.create_ssl_context(verify=verify)


def _read_tlv(der: bytes, offset: int) -> tuple[int, int, int]:
    """Return (tag, start of content, end of content) of the DER element at `offset`."""
    if offset + 2 > len(der):
        raise ValueError("truncated DER element")
    tag = der[offset]
    length = der[offset + 1]
    offset += 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(der[offset : offset + size], "big")
        offset += size
    end = offset + length
    if end > len(der):
        raise ValueError("truncated DER element")
    return tag, offset, end


def certificate_not_after(der: bytes) -> datetime:
    """The `notAfter` time of a DER-encoded X.509 certificate, as an aware UTC datetime.

    Parsed directly because `SSLSocket.getpeercert()` only decodes the certificate when it
    was verified, and expiry must be reported with verification off too.
    """
    tag, cert_start, _ = _read_tlv(der, 0)
    if tag != _SEQUENCE:
        raise ValueError("not an X.509 certificate")
    tag, tbs_start, _ = _read_tlv(der, cert_start)
    if tag != _SEQUENCE:
        raise ValueError("not an X.509 certificate")
    tag, start, end = _read_tlv(der, tbs_start)
    if tag == _EXPLICIT_VERSION:
        tag, start, end = _read_tlv(der, end)
    # serialNumber (just read), then signature algorithm, issuer, validity.
    for _ in range(3):
        tag, start, end = _read_tlv(der, end)
    if tag != _SEQUENCE:
        raise ValueError("X.509 validity not found")
    _, _, not_before_end = _read_tlv(der, start)
    tag, start, end = _read_tlv(der, not_before_end)
    text = der[start:end].decode("ascii")
    if tag == _UTC_TIME:
        # RFC 5280: two-digit years 50-99 are 19xx, 00-49 are 20xx.
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != _GENERALIZED_TIME:
        raise ValueError("unexpected time encoding in X.509 validity")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)


def peer_certificate_expiry(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> datetime | None:
    """Expiry of the certificate the peer presented, or None when there is none."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    try:
        return certificate_not_after(der)
    except ValueError:
        return None
