"""Reading `notAfter` from DER without verifying: both X.509 time encodings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from uptime_core.probes.tls import certificate_not_after


@pytest.mark.parametrize(
    "not_after",
    [
        datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),  # UTCTime
        datetime(2050, 1, 1, 0, 0, 1, tzinfo=UTC),  # GeneralizedTime from 2050 on
        datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC),  # long expired
    ],
)
def test_not_after_is_read_exactly(not_after: datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=400))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )

    assert certificate_not_after(certificate.public_bytes(serialization.Encoding.DER)) == not_after


def test_garbage_is_rejected() -> None:
    with pytest.raises(ValueError):
        certificate_not_after(b"\x02\x01\x00")
