"""The bidder's and custodian's command-line tool: ``python -m ggzy_bid <command>``.

Works offline. Every failure ends with exactly one line on stderr starting with
``error: `` and a non-zero exit status (1 for a refusal, 2 for bad usage), never
a traceback. Passphrases come from ``--passphrase-file``, the environment
variable ``GGZY_PASSPHRASE``, or a prompt on the terminal.

Commands are registered in :data:`COMMANDS` with :func:`command`.

Bids are sealed in envelope format v2 (``crypto.envelope``, ``crypto.custody``):
to your own key, with the data key split k-of-n among the tender's custodians.
Before sealing, the tool checks that every custodian has signed (endorsed) the
tender's custodian set with a signing key you pinned from the trading centre's
trust file (``pin-custodians custodians.json``, kept in
``~/.config/ggzy/custodians.json``); otherwise it refuses in one line.

The commands that talk to the platform (``login``, ``register-key``,
``platform-key``, ``tender``, ``submit``, ``withdraw``, ``receipt``,
``custodian-endorse``, ``hall-decrypt``, ``hall-share``, ``price-round``,
``price-round-decrypt``, ``price-round-share``) use
:mod:`ggzy_bid.client`; the server comes from ``--server`` or ``GGZY_SERVER`` (or
the one saved at login), the token from ``--token``, ``GGZY_TOKEN`` or the token
file (``~/.config/ggzy/token``, or ``--token-file``). An API refusal is reported
as one line with the API's message and its field messages.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import getpass
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from crypto import custody, envelope, evidence, keybackup, keys, receipts, signing, threshold
from crypto.errors import CryptoError
from crypto.shamir import ThresholdShare
from ggzy_bid import client

PASSPHRASE_ENV = "GGZY_PASSPHRASE"
PROGRESS_MIN_SIZE = 16 * 1024 * 1024
# Set while a progress line is open on stderr, so an error starts on a new line.
_progress_open = [False]


class CliError(Exception):
    """A refusal to report as one ``error:`` line (exit status 1)."""


class UsageError(CliError):
    """Bad command-line usage (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


@dataclass(frozen=True)
class Command:
    """A subcommand: how to add its arguments and how to run it."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: The subcommands, by name, in registration order.
COMMANDS: dict[str, Command] = {}


def command(
    name: str, help: str, configure: Callable[[argparse.ArgumentParser], None]
) -> Callable[
    [Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]
]:
    """Register ``run`` as subcommand ``name``; ``configure`` adds its arguments."""

    def register(run: Callable[[argparse.Namespace], int]):
        COMMANDS[name] = Command(name, help, configure, run)
        return run

    return register


# -- helpers ------------------------------------------------------------------------


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise CliError(f"is a directory, not a file: {path}") from None


def _passphrase(args: argparse.Namespace, *, confirm: bool = False) -> bytes:
    path = getattr(args, "passphrase_file", None)
    if path:
        value = _read(path).rstrip(b"\r\n")
        if not value:
            raise CliError(f"the passphrase file {path} is empty")
        return value
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env.encode("utf-8")
    if not sys.stdin.isatty():
        raise CliError(
            f"a passphrase is needed: use --passphrase-file or {PASSPHRASE_ENV}"
        )
    first = getpass.getpass("Passphrase: ").encode("utf-8")
    if not first:
        raise CliError("empty passphrase")
    if confirm and getpass.getpass("Repeat passphrase: ").encode("utf-8") != first:
        raise CliError("the passphrases differ")
    return first


def _load_private(args: argparse.Namespace, path: str) -> keys.PrivateKey:
    data = _read(path)
    if keybackup.is_backup(data):  # the bid page's backup file (JSON)
        return keybackup.load(data, _passphrase(args))
    if b"PRIVATE KEY" not in data:
        raise CliError(f"{path} is not a private key file")
    passphrase = _passphrase(args) if b"ENCRYPTED" in data else None
    return keys.private_key_from_pem(data, passphrase)


def _load_p256_private(args: argparse.Namespace, path: str):
    key = _load_private(args, path)
    if not isinstance(key, keys.ec.EllipticCurvePrivateKey):
        raise CliError(f"{path} is a signing key; a P-256 decryption key is needed")
    return key


def _decode_raw(text: str, length: int) -> bytes | None:
    text = text.strip()
    for decode in (bytes.fromhex, lambda t: base64.b64decode(t, validate=True)):
        try:
            raw = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == length:
            return raw
    return None


def _load_p256_public(args: argparse.Namespace, path: str):
    """A P-256 public key from PEM (public or private), hex/base64 point, or JSON."""
    data = _read(path)
    if b"PRIVATE KEY" in data:
        key = _load_p256_private(args, path)
        return key.public_key()
    if b"-----BEGIN" in data:
        return keys.p256_public_key_from_pem(data)
    text = data.decode("utf-8", errors="replace")
    if text.lstrip().startswith("{"):
        try:
            obj = json.loads(text)
            text = obj["public_key"]
        except (ValueError, KeyError, TypeError):
            raise CliError(f"{path} has no public_key member") from None
    raw = _decode_raw(text, keys.P256_POINT_LEN)
    if raw is None:
        raise CliError(f"{path} is not a P-256 public key")
    return keys.public_key_from_bytes(raw)


def _load_verify_key(path: str):
    data = _read(path)
    if b"-----BEGIN" in data:
        return keys.verify_key_from_pem(data)
    raw = _decode_raw(data.decode("utf-8", errors="replace"), keys.ED25519_KEY_LEN)
    if raw is None:
        raise CliError(f"{path} is not an Ed25519 verify key")
    return keys.verify_key_from_bytes(raw)


def _load_json(path: str) -> Any:
    try:
        return json.loads(_read(path))
    except (ValueError, UnicodeDecodeError):
        raise CliError(f"{path} is not JSON") from None


def _write_new(path: str, data: bytes, *, private: bool = False, force: bool = False):
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600 if private else 0o644)
    except FileExistsError:
        raise CliError(f"{path} exists; not overwriting") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)


@contextlib.contextmanager
def _atomic_output(path: str, force: bool) -> Iterator[BinaryIO]:
    """Write to ``path.part`` and rename on success; remove it on failure."""
    if os.path.exists(path) and not force:
        raise CliError(f"{path} exists; not overwriting (use --force)")
    part = path + ".part"
    try:
        f = open(part, "wb")  # noqa: SIM115 - closed below in both branches
    except OSError as exc:
        raise CliError(f"cannot write {part}: {exc.strerror}") from None
    try:
        yield f
        f.close()
        os.replace(part, path)
    except BaseException:
        f.close()
        with contextlib.suppress(OSError):
            os.unlink(part)
        raise


class _Progress:
    """A percentage on stderr, for big files on a terminal (or with --progress)."""

    def __init__(
        self,
        args: argparse.Namespace,
        label: str,
        total: int,
        *,
        min_size: int = PROGRESS_MIN_SIZE,
    ):
        wanted = getattr(args, "progress", False)
        quiet = getattr(args, "quiet", False)
        self.enabled = not quiet and (
            wanted or (sys.stderr.isatty() and total >= min_size)
        )
        self.label, self.total, self.shown = label, max(total, 1), -1

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        pct = min(100, done * 100 // self.total)
        if pct != self.shown:
            self.shown = pct
            sys.stderr.write(f"\r{self.label} {pct:3d}%")
            sys.stderr.flush()
            _progress_open[0] = True

    def done(self) -> None:
        if self.enabled and self.shown >= 0:
            sys.stderr.write("\n")
            _progress_open[0] = False


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _open_in(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise CliError(f"is a directory, not a file: {path}") from None


def _chunk_size(text: str) -> int:
    units = {"k": 1024, "m": 1024 * 1024}
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    try:
        value = int(t[:-1]) * units[t[-1]] if t and t[-1] in units else int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}") from None
    low, high = envelope.RECOMMENDED_CHUNK_SIZES
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"chunk size must be {low} .. {high} bytes")
    return value


def _passphrase_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help=f"read the key passphrase from FILE (else ${PASSPHRASE_ENV}, else ask)",
    )


def _progress_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--progress", action="store_true", help="always show progress")
    g.add_argument("--quiet", action="store_true", help="never show progress")


# -- commands --------------------------------------------------------------------------


def _keygen_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("prefix", help="writes PREFIX.key (private) and PREFIX.pub")
    p.add_argument(
        "--signing",
        action="store_true",
        help="make an Ed25519 signing key instead of a P-256 encryption key",
    )
    _passphrase_arg(p)


@command(
    "keygen", "generate a key pair (passphrase-protected private key)", _keygen_args
)
def cmd_keygen(args: argparse.Namespace) -> int:
    """Write PREFIX.key (encrypted PKCS#8 PEM, mode 0600) and PREFIX.pub."""
    key_path, pub_path = args.prefix + ".key", args.prefix + ".pub"
    for path in (key_path, pub_path):
        if os.path.exists(path):
            raise CliError(f"{path} exists; not overwriting")
    passphrase = _passphrase(args, confirm=True)
    key = keys.generate_signing_key() if args.signing else keys.generate_private_key()
    _write_new(key_path, keys.private_key_to_pem(key, passphrase), private=True)
    _write_new(pub_path, keys.public_key_to_pem(key.public_key()))
    raw = keys.verify_key_bytes(key) if args.signing else keys.public_key_bytes(key)
    print(f"private key: {key_path}")
    print(f"public key:  {pub_path}")
    print(f"public key (hex): {raw.hex()}")
    print(f"fingerprint: {keys.key_fingerprint(key)}")
    return 0


def _seal_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="the bid file to seal")
    p.add_argument("output", help="where to write the envelope")
    p.add_argument("--tender", required=True, help="tender id")
    p.add_argument("--bidder", required=True, help="your bidder id")
    p.add_argument(
        "--custody",
        metavar="JSON",
        help="the tender's custodian set as the platform serves it (/api/tenders/T/custody/):"
        " seal format v2, checked against your pinned custodian keys",
    )
    p.add_argument(
        "--custodians",
        metavar="TRUST",
        help="custodian trust file (default: the one pin-custodians saved)",
    )
    p.add_argument(
        "--opening-key",
        metavar="PUB",
        help="legacy format v1: the tender's opening public key (PEM, hex, or JSON)",
    )
    p.add_argument(
        "--my-key",
        required=True,
        metavar="KEY",
        help="your own P-256 public key (or private key file) as second recipient",
    )
    p.add_argument(
        "--sign-key",
        metavar="KEY",
        help="also sign the envelope digest; writes OUTPUT.sig.json",
    )
    p.add_argument(
        "--chunk-size",
        type=_chunk_size,
        default=envelope.DEFAULT_CHUNK_SIZE,
        help="plaintext bytes per chunk, 64K .. 16M (default 1M)",
    )
    p.add_argument(
        "--no-digest",
        action="store_true",
        help="skip the envelope's SHA-256 (faster; 'show' computes it later)",
    )
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT")
    _passphrase_arg(p)
    _progress_args(p)


@command("seal", "seal a bid file for a tender", _seal_args)
def cmd_seal(args: argparse.Namespace) -> int:
    """Seal INPUT to the opening key and the bidder's key; print digest and size."""
    if args.no_digest and args.sign_key:
        raise UsageError("--sign-key signs the digest, so it cannot go with --no-digest")
    if bool(args.custody) == bool(args.opening_key):
        raise UsageError("give --custody (format v2) or --opening-key (legacy v1)")
    plan = None
    if args.custody:
        info = _load_json(args.custody)
        plan = _custody_plan(args, info, args.tender)
    mine = _load_p256_public(args, args.my_key)
    signer = _load_private(args, args.sign_key) if args.sign_key else None
    recipients = [envelope.Recipient("bidder", mine)]
    if args.opening_key:
        recipients.append(envelope.Recipient("opening", _load_p256_public(args, args.opening_key)))
    progress = _Progress(args, "sealing", _size(args.input))
    with _open_in(args.input) as src, _atomic_output(args.output, args.force) as dst:
        result = envelope.seal(
            src,
            dst,
            tender_id=args.tender,
            bidder_id=args.bidder,
            recipients=recipients,
            chunk_size=args.chunk_size,
            progress=progress,
            digest=not args.no_digest,
            custody=plan,
        )
    progress.done()
    print(f"sealed {args.output}")
    print(f"sha256: {result.sha256 or '(not computed: --no-digest)'}")
    print(f"size:   {result.size}")
    if signer is not None:
        sig = signing.bid_digest_sign(
            signer,
            tender_id=args.tender,
            bidder_id=args.bidder,
            sha256=result.sha256,
            size=result.size,
        )
        statement = {
            "v": 1,
            "tender_id": args.tender,
            "bidder_id": args.bidder,
            "sha256": result.sha256,
            "size": result.size,
            "key": keys.key_fingerprint(signer),
            "signature": base64.b64encode(sig).decode("ascii"),
        }
        sig_path = args.output + ".sig.json"
        _write_new(
            sig_path, json.dumps(statement, indent=2).encode() + b"\n", force=args.force
        )
        print(f"signature: {sig_path}")
    return 0


def _show_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("envelope")
    p.add_argument("--json", action="store_true", help="print JSON")


@command("show", "show an envelope's header and check its structure", _show_args)
def cmd_show(args: argparse.Namespace) -> int:
    """Print the header (no key needed) after a full structural check."""
    with _open_in(args.envelope) as src:
        info = envelope.check_structure(src)
    data = info.header.to_dict()
    data.update(
        sha256=info.sha256,
        size=info.size,
        chunks=info.chunk_count,
        plaintext_size=info.plaintext_size,
    )
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"envelope:   {args.envelope} (format v{data['version']}, {data['suite']})")
    print(f"tender:     {data['tender_id']}")
    print(f"bidder:     {data['bidder_id']}")
    print(
        f"size:       {info.size} bytes, {info.chunk_count} chunk(s) of "
        f"{data['chunk_size']}; plaintext {info.plaintext_size} bytes"
    )
    print(f"sha256:     {info.sha256}")
    for s in info.header.stanzas:
        fp = s.fingerprint.hex()
        print(f"recipient:  {s.label:<10} key {keys.fingerprint_display(fp)} ({fp})")
    if info.header.custodians:
        print(f"custody:    data key split {info.header.threshold} of "
              f"{len(info.header.custodians)} (no opening key)")
        for c in info.header.custodians:
            fp = c.fingerprint.hex()
            print(f"custodian:  {c.x:<10} key {keys.fingerprint_display(fp)} ({fp})")
    return 0


def _verify_receipt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("receipt", help="the receipt JSON file")
    p.add_argument(
        "--platform-key", required=True, metavar="PUB", help="platform verify key"
    )
    p.add_argument(
        "--file", metavar="ENVELOPE", help="also check this file's SHA-256 and size"
    )


@command("verify-receipt", "verify a platform receipt", _verify_receipt_args)
def cmd_verify_receipt(args: argparse.Namespace) -> int:
    """Check the receipt's signature, and that it names the given envelope file."""
    body = receipts.receipt_verify(
        _load_json(args.receipt), _load_verify_key(args.platform_key)
    )
    if args.file:
        h = hashlib.sha256()
        size = 0
        with _open_in(args.file) as f:
            while block := f.read(1024 * 1024):
                h.update(block)
                size += len(block)
        if h.hexdigest() != body["sha256"] or size != body["size"]:
            raise CliError(
                f"{args.file} is not the envelope this receipt names "
                f"(SHA-256 {h.hexdigest()[:16]}.. vs {body['sha256'][:16]}..)"
            )
    print(
        f"receipt OK: tender {body['tender_id']}, bidder {body['bidder_id']}, "
        f"sha256 {body['sha256']}, size {body['size']}, time {body['server_time']}"
        + (f"; {args.file} matches" if args.file else "")
    )
    return 0


def _unwrap_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("envelope")
    p.add_argument("--key", required=True, metavar="PRIV", help="your private key")
    p.add_argument("--label", help="only the stanza with this label")
    p.add_argument("-o", "--output", help="write the hex data key here (mode 0600)")
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT")
    _passphrase_arg(p)


@command("unwrap", "recover an envelope's data key with your key", _unwrap_args)
def cmd_unwrap(args: argparse.Namespace) -> int:
    """Print (or write) the hex data key, to hand over at the opening."""
    key = _load_p256_private(args, args.key)
    with _open_in(args.envelope) as src:
        data_key = envelope.unwrap_data_key(src, key, label=args.label)
    if args.output:
        _write_new(
            args.output, data_key.hex().encode() + b"\n", private=True, force=args.force
        )
        print(f"data key written to {args.output}")
    else:
        print(data_key.hex())
    return 0


def _open_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("envelope")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--key", metavar="PRIV", help="a recipient's private key")
    g.add_argument("--data-key-file", metavar="FILE", help="file with the hex data key")
    p.add_argument("--label", help="only the stanza with this label")
    p.add_argument("-o", "--output", required=True, help="where to write the plaintext")
    p.add_argument("--tender", help="refuse unless the envelope is for this tender")
    p.add_argument("--bidder", help="refuse unless the envelope is from this bidder")
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT")
    _passphrase_arg(p)
    _progress_args(p)


@command("open", "decrypt an envelope", _open_args)
def cmd_open(args: argparse.Namespace) -> int:
    """Decrypt to OUTPUT; nothing is left behind unless every chunk verifies."""
    if args.key:
        key = _load_p256_private(args, args.key)
        with _open_in(args.envelope) as src:
            data_key = envelope.unwrap_data_key(src, key, label=args.label)
    else:
        text = _read(args.data_key_file).decode("ascii", errors="replace").strip()
        try:
            data_key = bytes.fromhex(text)
        except ValueError:
            raise CliError(
                f"{args.data_key_file} does not hold a hex data key"
            ) from None
        if len(data_key) != envelope.KEY_LEN:
            raise CliError("a data key is 32 bytes (64 hex digits)")
    progress = _Progress(args, "opening", _size(args.envelope))
    with _open_in(args.envelope) as src, _atomic_output(args.output, args.force) as dst:
        result = envelope.open_envelope(
            src,
            dst,
            data_key,
            tender_id=args.tender,
            bidder_id=args.bidder,
            progress=progress,
        )
    progress.done()
    print(f"opened {args.envelope} -> {args.output} ({result.plaintext_size} bytes)")
    print(f"tender {result.header.tender_id}, bidder {result.header.bidder_id}")
    print(f"envelope sha256: {result.sha256}")
    return 0


def _share_decrypt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("share", help="encrypted share JSON (or the opening key JSON)")
    p.add_argument("--key", required=True, metavar="PRIV", help="custodian's key")
    p.add_argument("--tender", required=True, help="tender id")
    p.add_argument("--custodian", required=True, help="your custodian id")
    p.add_argument("-o", "--output", required=True, help="decrypted share JSON")
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT")
    _passphrase_arg(p)


@command(
    "share-decrypt", "decrypt a custodian's opening-key share", _share_decrypt_args
)
def cmd_share_decrypt(args: argparse.Namespace) -> int:
    """Decrypt this custodian's share of a tender's opening key (mode 0600)."""
    data = _load_json(args.share)
    if isinstance(data, dict) and "shares" in data:
        mine = [s for s in data["shares"] if s.get("custodian_id") == args.custodian]
        if not mine:
            raise CliError(f"no share for custodian {args.custodian!r} in {args.share}")
        data = mine[0]
    if not isinstance(data, dict):
        raise CliError(f"{args.share} is not an encrypted share")
    key = _load_p256_private(args, args.key)
    share = threshold.share_decrypt(
        data, key, tender_id=args.tender, custodian_id=args.custodian
    )
    out = {"tender_id": args.tender, "custodian_id": args.custodian, **share.to_dict()}
    _write_new(
        args.output,
        json.dumps(out, indent=2).encode() + b"\n",
        private=True,
        force=args.force,
    )
    print(f"share {share.x} of threshold {share.threshold} written to {args.output}")
    return 0


def _combine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("shares", nargs="+", help="decrypted share JSON files")
    p.add_argument(
        "--opening-key",
        required=True,
        metavar="PUB",
        help="the tender's published opening public key",
    )
    p.add_argument("-o", "--output", required=True, help="private key PEM to write")
    _passphrase_arg(p)


@command("opening-combine", "rebuild an opening key from k shares", _combine_args)
def cmd_opening_combine(args: argparse.Namespace) -> int:
    """Combine decrypted shares offline; write the key passphrase-protected."""
    shares = []
    for path in args.shares:
        data = _load_json(path)
        if not isinstance(data, dict):
            raise CliError(f"{path} is not a decrypted share")
        shares.append(ThresholdShare.from_dict(data))
    public = keys.public_key_bytes(_load_p256_public(args, args.opening_key))
    key = threshold.opening_key_combine(shares, opening_public_key=public)
    passphrase = _passphrase(args, confirm=True)
    _write_new(args.output, keys.private_key_to_pem(key, passphrase), private=True)
    print(f"opening key written to {args.output} ({keys.key_fingerprint(key)})")
    return 0


# -- talking to the platform (login, keys, tenders, submit) ------------------------------

SERVER_ENV = "GGZY_SERVER"
TOKEN_ENV = "GGZY_TOKEN"
UPLOAD_STATE_SUFFIX = ".upload.json"
SEALED_SUFFIX = ".ggzy"
RECEIPT_SUFFIX = ".receipt.json"


def _config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(
        os.path.expanduser("~"), ".config"
    )
    return Path(base) / "ggzy"


def _token_path(args: argparse.Namespace) -> Path:
    given = getattr(args, "token_file", None)
    return Path(given) if given else _config_dir() / "token"


def _server_file(args: argparse.Namespace) -> Path:
    return _token_path(args).parent / "server"


def _pin_path(args: argparse.Namespace, server: str) -> Path:
    """The pinned platform verify key for ``server``, beside the token file."""
    netloc = server.split("://", 1)[-1]
    safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in netloc)
    return _token_path(args).parent / f"platform-{safe}.pub"


def _write_private_file(path: Path, data: bytes) -> None:
    """Write (replacing) a file only the user can read; make its directory 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(data)


def _server_url(args: argparse.Namespace) -> str:
    server = getattr(args, "server", None) or os.environ.get(SERVER_ENV)
    if not server:
        saved = _server_file(args)
        if saved.is_file():
            server = saved.read_text("utf-8").strip()
    if not server:
        raise CliError(
            f"which platform? use --server URL or {SERVER_ENV} (or log in first)"
        )
    return server


def _token(args: argparse.Namespace) -> str:
    token = getattr(args, "token", None) or os.environ.get(TOKEN_ENV)
    if token:
        return token.strip()
    path = _token_path(args)
    if path.is_file():
        token = path.read_text("utf-8").strip()
        if token:
            return token
    raise CliError(
        f"not logged in: run 'python -m ggzy_bid login --server URL --username NAME', "
        f"or use --token / {TOKEN_ENV}"
    )


def _client(args: argparse.Namespace, *, auth: bool = True) -> client.Client:
    return client.Client(
        _server_url(args),
        _token(args) if auth else None,
        timeout=getattr(args, "timeout", client.DEFAULT_TIMEOUT),
    )


def _server_args(p: argparse.ArgumentParser, *, token: bool = True) -> None:
    p.add_argument("--server", metavar="URL", help=f"platform URL (else ${SERVER_ENV})")
    if token:
        p.add_argument("--token", help=f"API token (else ${TOKEN_ENV}, else the token file)")
    p.add_argument(
        "--token-file",
        metavar="FILE",
        help="where the token is kept (default ~/.config/ggzy/token)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=client.DEFAULT_TIMEOUT,
        help=argparse.SUPPRESS,
    )


def _pinned_verify_key(args: argparse.Namespace, api: client.Client):
    """The platform's verify key: ``--platform-key``, else the pin, else fetch and pin."""
    given = getattr(args, "platform_key", None)
    if given:
        return _load_verify_key(given), given
    pin = _pin_path(args, api.server)
    if pin.is_file():
        return _load_verify_key(str(pin)), str(pin)
    return _pin_platform_key(args, api), str(pin)


def _pin_platform_key(args: argparse.Namespace, api: client.Client):
    data = api.platform_keys()
    try:
        key = keys.verify_key_from_pem(str(data["receipt_key_pem"]).encode("ascii"))
    except (KeyError, TypeError, UnicodeEncodeError):
        raise CliError("the platform's key answer has no receipt_key_pem") from None
    if keys.key_fingerprint(key) != str(data.get("fingerprint", "")).lower():
        raise CliError("the platform's verify key does not match its fingerprint")
    pin = _pin_path(args, api.server)
    pin.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pin.write_bytes(keys.public_key_to_pem(key))
    print(
        f"pinned the platform key {keys.fingerprint_display(keys.key_fingerprint(key))} "
        f"in {pin}"
    )
    return key


def _login_args(p: argparse.ArgumentParser) -> None:
    _server_args(p, token=False)
    p.add_argument("--username", required=True)
    p.add_argument("--password-file", metavar="FILE", help="read the password from FILE")
    p.add_argument(
        "--print-token", action="store_true", help="also print the token on stdout"
    )


@command("login", "get an API token and keep it in the token file", _login_args)
def cmd_login(args: argparse.Namespace) -> int:
    """Exchange username and password for a token; save it (mode 0600)."""
    api = _client(args, auth=False)
    if args.password_file:
        password = _read(args.password_file).decode("utf-8").rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.username}: ")
    else:
        raise CliError("a password is needed: use --password-file or a terminal")
    answer = api.login(args.username, password)
    token = str(answer.get("token") or "")
    if not token:
        raise CliError("the platform answered no token")
    path = _token_path(args)
    _write_private_file(path, token.encode("utf-8") + b"\n")
    _write_private_file(_server_file(args), api.server.encode("utf-8") + b"\n")
    user = answer.get("user") or {}
    org = user.get("organisation") or {}
    who = ", ".join(
        str(v) for v in (user.get("role"), org.get("name"), org.get("credit_code")) if v
    )
    print(f"logged in to {api.server} as {user.get('username', args.username)} ({who})")
    print(f"token saved to {path}")
    if not _pin_path(args, api.server).is_file():
        _pin_platform_key(args, api)
    if args.print_token:
        print(token)
    return 0


def _register_key_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("public_key", metavar="PUBFILE", help="your P-256 public key (PEM)")
    p.add_argument("--purpose", required=True,
                   choices=["bid", "custodian", "custodian_signing", "signing"],
                   help="bid: seal bids; custodian, custodian_signing: hold shares and "
                        "endorse custodian sets; signing: sign reports and contracts")
    p.add_argument("--label", default="", help="a name for the key")
    _server_args(p)
    _passphrase_arg(p)


@command("register-key", "register your public key with the platform", _register_key_args)
def cmd_register_key(args: argparse.Namespace) -> int:
    """Send the public half (65-byte point, base64); the private key stays here."""
    pub = _load_p256_public(args, args.public_key)
    point = keys.public_key_bytes(pub)
    answer = _client(args).register_key(point, args.purpose, args.label)
    fingerprint = keys.key_fingerprint(point)
    if str(answer.get("fingerprint", "")).lower() != fingerprint:
        raise CliError("the platform registered a different key fingerprint")
    print(
        f"registered {args.purpose} key {keys.fingerprint_display(fingerprint)} "
        f"({fingerprint}) as key {answer.get('id')}"
    )
    return 0


def _platform_key_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", help="write the PEM here (else print it)")
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT")
    _server_args(p, token=False)


@command("platform-key", "fetch the platform's receipt verify key", _platform_key_args)
def cmd_platform_key(args: argparse.Namespace) -> int:
    """Fetch the Ed25519 verify key (PEM) that signs receipts and checkpoints."""
    data = _client(args, auth=False).platform_keys()
    try:
        pem = str(data["receipt_key_pem"]).encode("ascii")
        key = keys.verify_key_from_pem(pem)
    except (KeyError, TypeError, UnicodeEncodeError):
        raise CliError("the platform's answer has no receipt_key_pem") from None
    fingerprint = keys.key_fingerprint(key)
    if fingerprint != str(data.get("fingerprint", "")).lower():
        raise CliError("the platform's verify key does not match its fingerprint")
    if args.output:
        _write_new(args.output, keys.public_key_to_pem(key), force=args.force)
        print(f"platform key {keys.fingerprint_display(fingerprint)} written to {args.output}")
        print(f"fingerprint: {fingerprint}")
    else:
        sys.stdout.write(keys.public_key_to_pem(key).decode("ascii"))
    return 0


CUSTODIANS_FILE = "custodians.json"


def _trust_path(args: argparse.Namespace) -> Path:
    """Where ``pin-custodians`` keeps the trust file: beside the token file."""
    return _token_path(args).parent / CUSTODIANS_FILE


def _pinned_custodians(args: argparse.Namespace) -> dict:
    given = getattr(args, "custodians", None)
    path = Path(given) if given else _trust_path(args)
    if not path.is_file():
        raise CliError(
            f"no pinned custodian keys ({path}): get custodians.json from the trading "
            "centre and run 'python -m ggzy_bid pin-custodians custodians.json'"
        )
    return custody.load_trust_file(path.read_bytes())


def _custody_plan(args: argparse.Namespace, info: Any, tender_id: str) -> envelope.Custody:
    """The custodians to split the data key among, after checking that every one of
    them endorsed this tender's custodian set with the signing key pinned for it."""
    if not isinstance(info, dict) or not isinstance(info.get("statement"), dict):
        raise CliError(f"tender {tender_id} has no custodian set: it is not taking bids")
    stmt = info["statement"]
    if str(stmt.get("tender_id")) != str(tender_id):
        raise CliError(f"the custodian set is for tender {stmt.get('tender_id')!r}, "
                       f"not {tender_id!r}")
    pinned = _pinned_custodians(args)
    try:
        seats = custody.verify_endorsements(stmt, info.get("endorsements") or [], pinned)
        points = {}
        for c in info.get("custodians") or []:
            points[str(c["id"])] = base64.b64decode(str(c["encryption_key"]), validate=True)
        public = custody.check_custodian_keys(seats, points)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise CliError(f"tender {tender_id}: the custodian set is malformed ({exc})") from exc
    except CryptoError as exc:
        raise CliError(f"tender {tender_id}: refusing to seal: {exc}") from exc
    return envelope.Custody(int(stmt["threshold"]), public)


def _check_deadline(tender: dict) -> None:
    """Refuse early when the deadline has passed (the platform would refuse the upload)."""
    from datetime import UTC, datetime

    try:
        deadline = datetime.fromisoformat(str(tender.get("deadline")).replace("Z", "+00:00"))
    except ValueError:
        return
    if deadline.tzinfo and deadline <= datetime.now(UTC):
        raise CliError(f"the bid deadline has passed ({tender.get('deadline')})")


def _pin_custodians_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("trust_file", metavar="FILE",
                   help="custodians.json from the trading centre (obtained out of band)")
    p.add_argument("--token-file", metavar="FILE",
                   help="the token file whose folder keeps the pin (default ~/.config/ggzy)")


@command("pin-custodians", "pin the custodians' signing keys (trust file)",
         _pin_custodians_args)
def cmd_pin_custodians(args: argparse.Namespace) -> int:
    """Check and keep the trust file; every later seal checks endorsements with it."""
    data = _read(args.trust_file)
    pinned = custody.load_trust_file(data)
    path = _trust_path(args)
    _write_private_file(path, data)
    print(f"pinned {len(pinned)} custodian signing key(s) in {path}:")
    for cid, key in pinned.items():
        print(f"  {cid}: {keys.fingerprint_display(keys.key_fingerprint(key))}")
    return 0


def _endorse_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tender", required=True, metavar="ID")
    p.add_argument("--key", required=True, metavar="PRIV",
                   help="your custodian signing key (P-256 PEM, purpose custodian_signing)")
    _server_args(p)
    _passphrase_arg(p)


@command("custodian-endorse", "custodian: sign the tender's custodian set", _endorse_args)
def cmd_custodian_endorse(args: argparse.Namespace) -> int:
    """Sign, on this machine, the statement naming the tender, threshold, custodians
    and deadline, after checking that your own seat names your encryption key."""
    api = _client(args)
    me = api.me()
    info = api.custody(args.tender)
    stmt = info.get("statement") if isinstance(info, dict) else None
    if not isinstance(stmt, dict):
        raise CliError(f"tender {args.tender} has no custodian set")
    seats = custody.seats_of(stmt)
    mine = [s for s in seats if s.id == me.get("username")]
    if not mine:
        raise CliError(f"you ({me.get('username')}) hold no seat in this custodian set")
    registered = {str(k.get("fingerprint", "")).lower() for k in api.my_keys()
                  if k.get("purpose") == "custodian"}
    if registered and mine[0].key not in registered:
        raise CliError("your seat names an encryption key that is not one you registered")
    key = _load_private(args, args.key)
    sig = custody.endorse(key, stmt)
    answer = api.endorse(args.tender, sig)
    _remember_endorsement(args, stmt)
    done = {e.get("custodian_id") for e in answer.get("endorsements") or []}
    print(f"endorsed tender {stmt['tender_id']}: {stmt['threshold']} of {len(seats)} "
          f"custodians, deadline {stmt['deadline']} "
          f"({len(done)} of {len(seats)} endorsements in)")
    return 0


ENDORSED_FILE = "endorsed.json"


def _endorsed_path(args: argparse.Namespace) -> Path:
    return _token_path(args).parent / ENDORSED_FILE


def _remember_endorsement(args: argparse.Namespace, stmt: dict) -> None:
    """Keep, on this machine, the latest deadline this custodian endorsed per tender, so
    that hall-share never trusts the platform alone about when bids may be opened."""
    path = _endorsed_path(args)
    try:
        seen = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        seen = {}
    tender_id = str(stmt["tender_id"])
    seen[tender_id] = max(str(seen.get(tender_id, "")), str(stmt["deadline"]))
    _write_private_file(path, json.dumps(seen, indent=2).encode() + b"\n")


def _opening_allowed(args: argparse.Namespace, api: client.Client) -> str:
    """The tender id whose shares may be handed over now; refuses before the deadline.

    The deadline is the later of the one this custodian endorsed (kept on this machine
    by custodian-endorse) and the one the platform's custodian-set statement names,
    compared with this machine's clock: a platform that claims an opening early gets no
    share."""
    from datetime import UTC, datetime

    info = api.custody(args.tender)
    stmt = info.get("statement") if isinstance(info, dict) else None
    if not isinstance(stmt, dict):
        raise CliError(f"tender {args.tender} has no custodian set")
    tender_id = str(stmt["tender_id"])
    deadline = str(stmt.get("deadline", ""))
    path = _endorsed_path(args)
    if path.is_file():
        try:
            deadline = max(deadline, str(json.loads(path.read_text("utf-8")).get(tender_id, "")))
        except (OSError, ValueError, AttributeError):
            pass
    try:
        when = datetime.fromisoformat(deadline.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"tender {tender_id}: the custodian set names no deadline") from None
    if datetime.now(UTC) < when and not args.ignore_deadline:
        raise CliError(
            f"tender {tender_id}: its deadline {deadline} has not passed by this machine's "
            "clock; refusing to hand over shares (--ignore-deadline if your clock is wrong)"
        )
    return tender_id


def _tender_ids(tender: dict) -> str:
    ids = tender.get("envelope_ids") or {}
    tender_id = ids.get("tender_id") or tender.get("reference")
    if not tender_id:
        raise CliError("the tender has no envelope tender id")
    return str(tender_id)


def _price_items(tender: dict) -> list[str]:
    return [*client.STANDARD_PRICE_SHEET_ITEMS, *(tender.get("price_sheet_items") or [])]


def _tender_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("tender", metavar="ID", help="tender id or tender number")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    _server_args(p)


@command("tender", "show a tender: deadline, opening key, price sheet items", _tender_args)
def cmd_tender(args: argparse.Namespace) -> int:
    """Print what a bidder needs to seal a bid for the tender."""
    tender = _client(args).tender(args.tender)
    if args.json:
        print(json.dumps(tender, indent=2, ensure_ascii=False))
        return 0
    print(f"tender:       {tender.get('reference')} (id {tender.get('id')})")
    print(f"title:        {tender.get('title')}")
    print(f"status:       {tender.get('status_label') or tender.get('status')}")
    print(f"deadline:     {tender.get('deadline')}")
    try:
        info = _client(args).custody(args.tender)
    except client.ApiError:
        info = None
    if isinstance(info, dict) and info.get("statement"):
        stmt = info["statement"]
        names = ", ".join(f"{c['x']}:{c['id']}" for c in stmt.get("custodians") or [])
        done = len(info.get("endorsements") or [])
        print(f"custodians:   {stmt.get('threshold')} of {len(stmt.get('custodians') or [])}"
              f" ({names}); {done} endorsement(s)"
              f"{'' if info.get('complete') else ' - not all in: sealing is refused'}")
    else:
        print("custodians:   none (not taking bids)")
    ids = tender.get("envelope_ids") or {}
    print(f"envelope ids: tender_id={ids.get('tender_id')} bidder_id={ids.get('bidder_id')}")
    print(f"price sheet:  {', '.join(_price_items(tender))}")
    return 0


def _load_price_sheet(path: str, tender: dict) -> bytes:
    """The price sheet JSON, checked for every item the tender asks for."""
    sheet = _load_json(path)
    if not isinstance(sheet, dict):
        raise CliError(f"{path}: a price sheet is a JSON object")
    extra = sheet.get("items") if isinstance(sheet.get("items"), dict) else {}
    missing = [
        item
        for item in _price_items(tender)
        if str(sheet.get(item, extra.get(item, ""))).strip() == ""
    ]
    if missing:
        raise CliError(f"{path}: the price sheet lacks {', '.join(missing)}")
    total = str(sheet["total_price"]).replace(",", "")
    try:
        float(total)
    except ValueError:
        raise CliError(f"{path}: total_price is not a number") from None
    return json.dumps(sheet, ensure_ascii=False).encode("utf-8")


def _submit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("bid_file", metavar="BIDFILE", help="the bid file to seal and upload")
    p.add_argument("--tender", metavar="ID", help="tender id or tender number")
    p.add_argument("--key", metavar="MYKEY", help="your P-256 private key (PEM)")
    p.add_argument("--price-sheet", metavar="JSON", help="your price sheet (JSON)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="only continue the unfinished upload of BIDFILE.ggzy",
    )
    p.add_argument(
        "--platform-key", metavar="PUB", help="verify the receipt with this key"
    )
    p.add_argument(
        "--chunk-size",
        type=_chunk_size,
        default=envelope.DEFAULT_CHUNK_SIZE,
        help="envelope chunk size, 64K .. 16M (default 1M)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="seal again although BIDFILE.ggzy exists (replaces your bid)",
    )
    p.add_argument("--retries", type=int, default=client.DEFAULT_RETRIES, help=argparse.SUPPRESS)
    _server_args(p)
    _passphrase_arg(p)
    _progress_args(p)


def _load_state(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise CliError(f"{path} is not an upload state file; delete it to start again") from None
    if not isinstance(state, dict) or state.get("v") != 1 or not state.get("upload_id"):
        raise CliError(f"{path} is not an upload state file; delete it to start again")
    return state


def _save_state(path: Path, state: dict) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(state, indent=2) + "\n", "utf-8")
    os.replace(part, path)


def _seal_new(args: argparse.Namespace, api: client.Client, sealed: Path, state_path: Path):
    """Fetch the tender, seal the bid and price sheet, open an upload; return state."""
    if not args.tender:
        raise CliError("--tender is required")
    if not args.key or not args.price_sheet:
        raise CliError("--key and --price-sheet are required to seal a new bid")
    if sealed.exists() and not args.force:
        receipt = Path(args.bid_file + RECEIPT_SUFFIX)
        done = f" and submitted (receipt {receipt})" if receipt.exists() else ""
        raise CliError(
            f"{sealed} exists: this bid was sealed{done} before; "
            "use --force to seal and submit it again (replacing your bid)"
        )
    if not os.path.isfile(args.bid_file):
        raise CliError(f"no such file: {args.bid_file}")
    me = api.me()
    org = me.get("organisation") or {}
    bidder_id = str(org.get("credit_code") or "")
    if me.get("role") != "bidder" or not bidder_id:
        raise CliError(
            f"{me.get('username', 'this user')} is not a bidder with an organisation"
        )
    tender = api.tender(args.tender)
    tender_id = _tender_ids(tender)
    _check_deadline(tender)
    try:
        info = api.custody(args.tender)
    except client.ApiError as exc:
        raise CliError(f"tender {tender_id} has no custodian set: it is not taking bids "
                       f"({exc})") from exc
    plan = _custody_plan(args, info, tender_id)
    sheet = _load_price_sheet(args.price_sheet, tender)
    mine = _load_p256_private(args, args.key).public_key()
    recipients = [envelope.Recipient("bidder", mine)]
    claims = evidence.claims_for(args.bid_file, tool=f"{client.TOOL}/{client.TOOL_VERSION}")
    sealed_sheet = envelope.seal_bytes(
        sheet, tender_id=tender_id, bidder_id=bidder_id, recipients=recipients, custody=plan
    )
    progress = _Progress(args, "sealing", _size(args.bid_file))
    part = str(sealed) + ".part"
    with _open_in(args.bid_file) as src, _atomic_output(part, True) as dst:
        result = envelope.seal(
            src,
            dst,
            tender_id=tender_id,
            bidder_id=bidder_id,
            recipients=recipients,
            chunk_size=args.chunk_size,
            progress=progress,
            digest=False,  # hashed while uploading (issue 3: seal only encrypts)
            custody=plan,
        )
    progress.done()
    if result.size <= client.SINGLE_REQUEST_BYTES:
        # Small enough for one request: no upload to open, nothing to resume. The
        # sealed file keeps its .part name until the platform has taken it.
        print(f"sealed {args.bid_file} ({result.size} bytes; "
              f"claims: {', '.join(sorted(claims))})")
        return {"v": 1, "single": True, "server": api.server, "tender": tender_id,
                "tender_arg": str(args.tender), "bidder_id": bidder_id,
                "part": part, "size": result.size,
                "price_sheet": sealed_sheet, "claims": claims}, None
    return _open_upload(api, args, state_path, sealed, part, tender_id, bidder_id,
                        result.size, sealed_sheet, claims)


def _open_upload(api, args, state_path: Path, sealed: Path, part: str, tender_id: str,
                 bidder_id: str, size: int, sealed_sheet: bytes, claims: dict):
    """Open a resumable upload for the sealed envelope at ``part`` (moved to
    ``sealed``), save its state for --resume; return (state, answer)."""
    try:
        answer = api.upload_start(args.tender, size, sealed_sheet, claims)
    except BaseException:
        if part != str(sealed):
            with contextlib.suppress(OSError):
                os.unlink(part)
        raise
    if part != str(sealed):
        os.replace(part, sealed)
    state = {
        "v": 1,
        "server": api.server,
        "tender": tender_id,
        "tender_arg": str(args.tender),
        "bidder_id": bidder_id,
        "upload_id": str(answer["upload_id"]),
        "envelope": sealed.name,
        "size": size,
        "chunk_size": answer.get("chunk_size"),
        "chunk_count": answer.get("chunk_count"),
    }
    _save_state(state_path, state)
    if part != str(sealed):
        print(
            f"sealed {args.bid_file} -> {sealed} ({size} bytes; "
            f"claims: {', '.join(sorted(claims))})"
        )
    print(
        f"upload {state['upload_id']}: {answer.get('chunk_count')} chunk(s) of "
        f"{answer.get('chunk_size')} bytes (state in {state_path})"
    )
    return state, answer


@command("submit", "seal a bid and send it (one request, or resumable chunks); save the "
         "receipt", _submit_args)
def cmd_submit(args: argparse.Namespace) -> int:
    """Seal BIDFILE to your key and the tender's opening key, send it (up to 8 MiB
    sealed in one request, a larger one in chunks), save and verify the receipt.
    Rerun (or --resume) to continue a broken upload."""
    api = _client(args)
    sealed = Path(args.bid_file + SEALED_SUFFIX)
    state_path = Path(str(sealed) + UPLOAD_STATE_SUFFIX)
    state = _load_state(state_path)
    answer = None
    if state is not None:
        if state.get("server") != api.server:
            raise CliError(
                f"the unfinished upload in {state_path} is on {state.get('server')}, "
                f"not {api.server}"
            )
        if args.tender and str(args.tender) not in (state.get("tender"), state.get("tender_arg")):
            raise CliError(
                f"the unfinished upload in {state_path} is for tender {state.get('tender')}, "
                f"not {args.tender}: finish it with --resume, or delete {state_path}"
            )
        if not sealed.is_file():
            raise CliError(f"{sealed} is missing: it holds the upload {state['upload_id']}")
        try:
            answer = api.upload_state(state["upload_id"])
        except client.ApiError as exc:
            if exc.status != 404:
                raise
            answer = {"status": "gone"}
        if answer.get("status") == "completed":
            # Completed, but the receipt never reached us: fetch it now.
            print(f"upload {state['upload_id']} was completed; fetching the receipt")
            outcome = client.UploadOutcome(
                bid={"receipt": api.receipt(state["tender"])},
                sha256=_file_sha256(sealed),
                size=sealed.stat().st_size,
            )
            return _finish_submit(args, api, state, state_path, sealed, outcome)
        if answer.get("status") != "open":
            os.unlink(state_path)
            raise CliError(
                f"upload {state['upload_id']} is no longer open on the platform "
                f"({answer.get('status')}); {state_path} removed, run submit again "
                "to seal and send a new bid"
            )
        print(
            f"resuming upload {state['upload_id']} of {sealed} at chunk "
            f"{answer.get('next_index')} of {answer.get('chunk_count')}"
        )
    elif args.resume:
        raise CliError(f"nothing to resume: {state_path} does not exist")
    else:
        state, answer = _seal_new(args, api, sealed, state_path)

    progress = _Progress(args, "uploading", int(state["size"]), min_size=0)

    def note(text: str) -> None:
        if progress.enabled:
            _report_note(text)

    if state.get("single"):
        part = state["part"]
        try:
            outcome = client.submit_envelope(
                api, state["tender_arg"], part, state["price_sheet"], state["claims"],
                retries=args.retries, progress=progress, on_retry=note)
        except client.TooLargeForOneRequest:
            progress.done()
            print("the server takes this bid only in chunks: opening a resumable upload")
            state, answer = _open_upload(
                api, args, state_path, sealed, part, state["tender"], state["bidder_id"],
                int(state["size"]), state["price_sheet"], state["claims"])
            progress = _Progress(args, "uploading", int(state["size"]), min_size=0)
        except client.ClientError as exc:
            progress.done()
            with contextlib.suppress(OSError):
                os.unlink(part)
            if isinstance(exc, client.Unreachable):
                raise CliError(f"{exc}; run submit again to seal and send the bid again"
                               ) from None
            raise
        else:
            progress.done()
            os.replace(part, sealed)
            print(f"sent {sealed} in one request")
            return _finish_submit(args, api, state, state_path, sealed, outcome)

    try:
        outcome = client.upload_envelope(
            api,
            str(sealed),
            answer,
            retries=args.retries,
            progress=progress,
            on_retry=note,
        )
    except client.ApiError as exc:
        progress.done()
        if exc.status == 400 and exc.code in ("not_sealed", "upload_incomplete"):
            with contextlib.suppress(client.ClientError):
                api.upload_abort(state["upload_id"])
            with contextlib.suppress(OSError):
                os.unlink(state_path)
        raise
    except client.Unreachable as exc:
        progress.done()
        raise CliError(f"{exc}; run submit again to resume") from None
    progress.done()
    return _finish_submit(args, api, state, state_path, sealed, outcome)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1024 * 1024):
            h.update(block)
    return h.hexdigest()


def _finish_submit(
    args: argparse.Namespace,
    api: client.Client,
    state: dict,
    state_path: Path,
    sealed: Path,
    outcome: client.UploadOutcome,
) -> int:
    """Save the receipt, forget the upload, and verify the receipt offline."""
    receipt = outcome.bid.get("receipt") or {}
    receipt_path = Path(args.bid_file + RECEIPT_SUFFIX)
    receipt_path.write_text(json.dumps(receipt, indent=2, ensure_ascii=False) + "\n", "utf-8")
    with contextlib.suppress(OSError):
        os.unlink(state_path)
    verify_key, key_source = _pinned_verify_key(args, api)
    try:
        body = receipts.receipt_verify(receipt, verify_key)
    except CryptoError as exc:
        raise CliError(
            f"the receipt saved to {receipt_path} does not verify with the platform key "
            f"{key_source}: {exc}"
        ) from None
    if body["sha256"] != outcome.sha256 or body["size"] != outcome.size:
        raise CliError(
            f"the receipt names SHA-256 {body['sha256'][:16]}.. ({body['size']} bytes), "
            f"but {sealed} is {outcome.sha256[:16]}.. ({outcome.size} bytes)"
        )
    if body["tender_id"] != state["tender"] or body["bidder_id"] != state["bidder_id"]:
        raise CliError(
            f"the receipt is for tender {body['tender_id']}, bidder {body['bidder_id']}, "
            f"not tender {state['tender']}, bidder {state['bidder_id']}"
        )
    extra = body.get("extra") or {}
    print(
        f"submitted: tender {body['tender_id']}, version {extra.get('version', '?')}, "
        f"server time {body['server_time']}"
    )
    print(f"sha256:  {outcome.sha256}")
    print(f"size:    {outcome.size}")
    print(
        f"receipt: {receipt_path} (signature OK with {key_source}; matches {sealed})"
    )
    return 0


def _withdraw_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tender", required=True, metavar="ID")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _server_args(p)


@command("withdraw", "withdraw your bid before the deadline", _withdraw_args)
def cmd_withdraw(args: argparse.Namespace) -> int:
    """Withdraw the current bid (a bond paid is refunded within 5 days)."""
    api = _client(args)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("withdrawing needs --yes (or a terminal to confirm)")
        answer = input(f"Withdraw your bid for tender {args.tender}? Type yes: ")
        if answer.strip().lower() != "yes":
            raise CliError("not withdrawn")
    bid = api.withdraw(args.tender)
    print(
        f"withdrawn: tender {bid.get('tender')}, version {bid.get('version')}, "
        f"at {bid.get('withdrawn_at')}"
    )
    return 0


def _hall_decrypt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tender", required=True, metavar="ID")
    p.add_argument("--key", required=True, metavar="PRIV", help="your bid key (PEM)")
    _passphrase_arg(p)
    _server_args(p)


@command("hall-decrypt", "at the opening: decrypt your bid with your own key",
         _hall_decrypt_args)
def cmd_hall_decrypt(args: argparse.Namespace) -> int:
    """Unwrap the data keys of your bid and price sheet on this machine and hand only
    those two 32-byte keys to the opening hall; the platform checks every tag."""

    api = _client(args)
    private = _load_p256_private(args, args.key)
    headers = api.envelope_headers(args.tender)
    try:
        bid_key = envelope.unwrap_data_key(base64.b64decode(headers["bid_header"]), private,
                                           label="bidder")
        sheet_key = envelope.unwrap_data_key(base64.b64decode(headers["price_sheet"]),
                                             private, label="bidder")
    except (KeyError, ValueError) as exc:
        raise CliError(f"the platform's answer is not an envelope header: {exc}") from exc
    state = api.opening_decrypt(args.tender, bid_key, sheet_key)
    you = state.get("you", {})
    print(f"decrypted: tender {args.tender}, your bid is {you.get('bid_status')}, "
          f"envelope {headers.get('sha256')}")
    return 0


def _price_round_path(tender: str, rest: str = "") -> str:
    from urllib.parse import quote

    return f"/api/tenders/{quote(str(tender), safe='')}/award/price-round/{rest}"


def _price_round_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tender", required=True, metavar="ID")
    p.add_argument("--key", required=True, metavar="PRIV", help="your bid key (PEM)")
    p.add_argument("--price-sheet", required=True, metavar="JSON",
                   help="your second-round price sheet (JSON, with total_price)")
    _passphrase_arg(p)
    _server_args(p)


@command("price-round", "award price competition: seal and submit your second-round price",
         _price_round_args)
def cmd_price_round(args: argparse.Namespace) -> int:
    """Seal a second-round price sheet on this machine as the first round's (format v2,
    split among the tender's custodian set, checked against the pinned custodian keys)
    under the round's envelope id ``<tender>/price-round``, and submit it once."""
    api = _client(args)
    me = api.me()
    bidder_id = str((me.get("organisation") or {}).get("credit_code") or "")
    if me.get("role") != "bidder" or not bidder_id:
        raise CliError(f"{me.get('username', 'this user')} is not a bidder")
    tender = api.tender(args.tender)
    tender_id = _tender_ids(tender)
    state = api.get(_price_round_path(args.tender))
    round_id = str(state.get("envelope_id") or "")
    if round_id != f"{tender_id}/price-round":
        raise CliError(f"the platform names {round_id!r} as the price round of {tender_id!r}")
    if state.get("phase") != "sealing":
        raise CliError(f"the price round is not taking prices (phase {state.get('phase')})")
    plan = _custody_plan(args, api.custody(args.tender), tender_id)
    sheet = _load_price_sheet(args.price_sheet, tender)
    mine = _load_p256_private(args, args.key).public_key()
    sealed = envelope.seal_bytes(sheet, tender_id=round_id, bidder_id=bidder_id,
                                 recipients=[envelope.Recipient("bidder", mine)], custody=plan)
    answer = api.post(_price_round_path(args.tender, "offer/"),
                      {"price_sheet": base64.b64encode(sealed).decode()})
    you = (answer or {}).get("you") or {}
    print(f"price submitted: tender {tender_id}, sealed sheet {you.get('sha256')}, "
          f"deadline {state.get('deadline')}")
    return 0


def _price_decrypt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tender", required=True, metavar="ID")
    p.add_argument("--key", required=True, metavar="PRIV", help="your bid key (PEM)")
    _passphrase_arg(p)
    _server_args(p)


@command("price-round-decrypt", "award price competition: hand over your sheet's data key",
         _price_decrypt_args)
def cmd_price_round_decrypt(args: argparse.Namespace) -> int:
    """In the round's window: unwrap your second-round sheet's data key on this machine
    and hand only that key to the platform, which checks every tag."""
    api = _client(args)
    private = _load_p256_private(args, args.key)
    mine = api.get(_price_round_path(args.tender, "mine/"))
    try:
        key = envelope.unwrap_data_key(base64.b64decode(mine["price_sheet"]), private,
                                       label="bidder")
    except (KeyError, ValueError, binascii.Error) as exc:
        raise CliError(f"the platform's answer is not your sealed sheet: {exc}") from exc
    state = api.post(_price_round_path(args.tender, "decrypt/"),
                     {"price_sheet_key": key.hex()})
    print(f"decrypted: tender {args.tender}, your price sheet is "
          f"{((state or {}).get('you') or {}).get('status')}")
    return 0


def _hall_share_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tender", required=True, metavar="ID")
    p.add_argument("--key", required=True, metavar="PRIV", help="your custodian key (PEM)")
    p.add_argument("--ignore-deadline", action="store_true",
                   help="hand over shares although this machine's clock is before the "
                   "deadline (only if that clock is wrong)")
    _passphrase_arg(p)
    _server_args(p)


@command("hall-share", "custodian: hand over your shares of the undecrypted bids",
         _hall_share_args)
def cmd_hall_share(args: argparse.Namespace) -> int:
    """Fetch the headers of every bid still pending, decrypt your share of each on this
    machine with your custodian key (checking it against the bidder's commitment), and
    hand the shares to the hall.

    The platform takes shares only after the decryption window has closed with bids
    nobody decrypted; with k good shares of a bid, it rebuilds its data key and opens it."""
    api = _client(args)
    me = api.me()
    work = api.my_key_share(args.tender)
    tender_id = _opening_allowed(args, api)
    key = _load_p256_private(args, args.key)
    out: dict = {"v": 2, "bids": {}}
    skipped = []
    for item in work.get("pending") or []:
        if item.get("version") != envelope.VERSION_CUSTODY:
            continue
        try:
            headers = [envelope.read_header(io.BytesIO(base64.b64decode(item[name])))
                       for name in ("bid_header", "price_sheet")]
            if any(h.tender_id != tender_id for h in headers):
                raise CliError(f"the platform offered an envelope of tender "
                               f"{headers[0].tender_id!r} as one of {tender_id!r}")
            x, share = custody.unwrap_share(headers[0], key)
            _, sheet = custody.unwrap_share(headers[1], key)
        except (KeyError, ValueError, binascii.Error, CryptoError, CliError) as exc:
            skipped.append(f"{str(item.get('sha256', '?'))[:16]}: {exc}")
            continue
        out["bids"][item["sha256"]] = {"x": x, "envelope": base64.b64encode(share).decode(),
                                       "price_sheet": base64.b64encode(sheet).decode()}
    if work.get("ciphertext"):
        share = threshold.share_decrypt(work, key, tender_id=work.get("tender_id", ""),
                                        custodian_id=me.get("username", ""))
        out["opening_key_share"] = share.to_dict()
    for line in skipped:
        _report_note(f"could not decrypt your share of bid {line}")
    state = api.opening_share(args.tender, out)
    print(f"shares of {len(out['bids'])} bid(s) handed over as custodian {work.get('seat')}; "
          f"phase now {state.get('phase')}, {state.get('shares')} of "
          f"{state.get('tender', {}).get('threshold')} custodians in")
    return 0


def _price_round_share_allowed(args: argparse.Namespace, api: client.Client,
                               tender_id: str) -> dict:
    """The price round's state, if this custodian may hand over shares now: the round is
    in its custodians' phase and, by this machine's clock, both the round's deadline and
    its decryption window have passed (as hall-share checks the first round's deadline;
    a platform that claims the window over early gets no share)."""
    from datetime import UTC, datetime

    state = api.get(_price_round_path(args.tender))
    round_id = str(state.get("envelope_id") or "")
    if round_id != f"{tender_id}{PRICE_ROUND_SUFFIX}":
        raise CliError(f"the platform names {round_id!r} as the price round of {tender_id!r}")
    if state.get("phase") != "custodians":
        raise CliError(f"the price round is not waiting for custodians "
                       f"(phase {state.get('phase')})")
    for name in ("deadline", "window_ends_at"):
        value = str(state.get(name) or "")
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise CliError(f"the price round names no {name}") from None
        if datetime.now(UTC) < when and not args.ignore_deadline:
            raise CliError(
                f"price round of {tender_id}: its {name.replace('_', ' ')} {value} has not "
                "passed by this machine's clock; refusing to hand over shares "
                "(--ignore-deadline if your clock is wrong)")
    return state


PRICE_ROUND_SUFFIX = "/price-round"


@command("price-round-share",
         "custodian: hand over your shares of the price round's undecrypted sheets",
         _hall_share_args)
def cmd_price_round_share(args: argparse.Namespace) -> int:
    """The price competition's hall-share: fetch the second-round sheets nobody
    decrypted in the window (GET price-round/mine/), decrypt your share of each on this
    machine with your custodian key (checked against the candidate's commitment), check
    the round's deadline and window against this machine's clock, and hand over only
    the shares (POST price-round/share/)."""
    api = _client(args)
    tender_id = _tender_ids(api.tender(args.tender))
    _price_round_share_allowed(args, api, tender_id)
    work = api.get(_price_round_path(args.tender, "mine/"))
    round_id = f"{tender_id}{PRICE_ROUND_SUFFIX}"
    if str(work.get("envelope_id") or "") != round_id:
        raise CliError(f"the platform offered the sheets of {work.get('envelope_id')!r} "
                       f"as the price round of {tender_id!r}")
    key = _load_p256_private(args, args.key)
    out: dict = {"v": 2, "offers": {}}
    skipped = []
    for item in work.get("pending") or []:
        try:
            sealed = base64.b64decode(item["price_sheet"])
            header = envelope.read_header(io.BytesIO(sealed))
            if header.tender_id != round_id:
                raise CliError(f"the platform offered an envelope of {header.tender_id!r} "
                               f"as one of {round_id!r}")
            x, share = custody.unwrap_share(header, key)
        except (KeyError, ValueError, binascii.Error, CryptoError, CliError) as exc:
            skipped.append(f"{str(item.get('sha256', '?'))[:16]}: {exc}")
            continue
        out["offers"][item["sha256"]] = {"x": x,
                                         "price_sheet": base64.b64encode(share).decode()}
    for line in skipped:
        _report_note(f"could not decrypt your share of price sheet {line}")
    if not out["offers"]:
        raise CliError("no share to hand over: no pending price sheet you could decrypt")
    state = api.post(_price_round_path(args.tender, "share/"), {"share": out})
    print(f"shares of {len(out['offers'])} price sheet(s) handed over as custodian "
          f"{work.get('seat')}; price round phase now {state.get('phase')}")
    return 0


def _inclusion_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("proof", nargs="?", help="a saved proof (JSON); else fetch it")
    p.add_argument("--tender", metavar="ID", help="fetch your proof and the published root")
    p.add_argument("--sha256", help="the envelope digest from a receipt")
    p.add_argument("--root", help="the Merkle root printed in the opening record")
    p.add_argument("--size", type=int, help="the number of envelopes in the record")
    p.add_argument("-o", "--output", help="save the fetched proof here")
    _server_args(p)


@command("inclusion", "prove a bid is in the opening record (Merkle proof)",
         _inclusion_args)
def cmd_inclusion(args: argparse.Namespace) -> int:
    """Check that an envelope digest is in the tree whose root the opening record
    publishes, so no bid was dropped, added or swapped after the deadline."""
    from crypto import merkle

    if args.proof:
        proof = _load_json(args.proof)
        root, size = args.root, args.size
    elif args.tender:
        api = _client(args)
        proof = api.inclusion_proof(args.tender, args.sha256)
        published = api.opening_state(args.tender).get("merkle") or {}
        root = args.root or published.get("root")
        size = args.size if args.size is not None else published.get("size")
        if args.output:
            _write_new(args.output, json.dumps(proof, indent=2).encode() + b"\n")
    else:
        raise UsageError("give a saved proof file or --tender")
    if not root or size is None:
        raise UsageError("the published --root and --size are needed")
    merkle.verify_inclusion(proof, root_hex=root, size=size)
    print(f"OK: envelope {proof['digest']} is leaf {proof['index']} of {size} under root {root}")
    return 0


def _receipt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tender", required=True, metavar="ID")
    p.add_argument("--version", type=int, help="an earlier version's receipt")
    p.add_argument("--pdf", action="store_true", help="the PDF receipt")
    p.add_argument("-o", "--output", help="write it here (JSON: else print it)")
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT")
    p.add_argument("--platform-key", metavar="PUB", help="verify with this key")
    _server_args(p)


@command("receipt", "download (and verify) your bid's receipt", _receipt_args)
def cmd_receipt(args: argparse.Namespace) -> int:
    """The signed receipt of your current bid, checked with the pinned platform key."""
    api = _client(args)
    if args.pdf:
        data = api.receipt_pdf(args.tender, args.version)
        if not data.startswith(b"%PDF-"):
            raise CliError("the platform's answer is not a PDF")
        out = args.output or f"receipt-{args.tender}.pdf"
        _write_new(out, data, force=args.force)
        print(f"PDF receipt written to {out} ({len(data)} bytes)")
        return 0
    receipt = api.receipt(args.tender, args.version)
    verify_key, key_source = _pinned_verify_key(args, api)
    body = receipts.receipt_verify(receipt, verify_key)
    text = json.dumps(receipt, indent=2, ensure_ascii=False) + "\n"
    if not args.output:
        sys.stdout.write(text)
        return 0
    _write_new(args.output, text.encode("utf-8"), force=args.force)
    print(
        f"receipt OK ({key_source}): tender {body['tender_id']}, sha256 {body['sha256']}, "
        f"size {body['size']}, time {body['server_time']}; written to {args.output}"
    )
    return 0


# -- entry point ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered command."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    parser = _Parser(
        prog=name if name.startswith("ggzy-bid") else "python -m ggzy_bid",
        description="Seal, inspect and open bid envelopes; verify receipts.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.configure(p)
        p.set_defaults(run=cmd.run)
    return parser


def _report_note(text: str) -> None:
    """A note on stderr while a progress line is shown (retries)."""
    if _progress_open[0]:
        sys.stderr.write("\n")
        _progress_open[0] = False
    print(f"note: {text}", file=sys.stderr)


def _report(text: str) -> None:
    if _progress_open[0]:
        sys.stderr.write("\n")
        _progress_open[0] = False
    print(f"error: {text}", file=sys.stderr)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """Run the tool; return the exit status (0 ok, 1 refused, 2 bad usage)."""
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except UsageError as exc:
        _report(f"{_one_line(exc)} (see --help)")
        return 2
    except (CliError, client.ClientError, CryptoError, OSError, ValueError) as exc:
        _report(_one_line(exc))
        return 1
    except KeyboardInterrupt:
        _report("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
