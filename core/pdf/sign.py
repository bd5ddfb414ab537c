"""Sign a PDF with the platform's document certificate (pyHanko, PAdES baseline)."""

from __future__ import annotations

import io

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from core import platform_keys


def _signer() -> signers.SimpleSigner:
    key, cert = platform_keys.document_certificate()
    asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    asn1_key = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return signers.SimpleSigner(signing_cert=asn1_cert, signing_key=asn1_key,
                                cert_registry=SimpleCertificateStore.from_certs([asn1_cert]))


def sign_pdf(pdf: bytes, *, reason: str, location: str) -> bytes:
    """Return ``pdf`` with an incremental-update signature covering the whole file."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(field_name="PlatformSignature", reason=reason,
                                        location=location)
    out = signers.sign_pdf(writer, meta, signer=_signer())
    return out.getvalue()
