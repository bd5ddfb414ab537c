"""The bidder's and custodian's command-line tool: ``python -m crypto <command>``.

Works offline. Every failure ends with exactly one line on stderr starting with
``error: `` and a non-zero exit status (1 for a refusal, 2 for bad usage), never
a traceback. Passphrases come from ``--passphrase-file``, the environment
variable ``GGZY_PASSPHRASE``, or a prompt on the terminal.

Commands are registered in :data:`COMMANDS` with :func:`command`; a later
``submit`` command (upload over HTTP) plugs in the same way.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import getpass
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from . import envelope, keys, receipts, signing, threshold
from .errors import CryptoError
from .shamir import ThresholdShare

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

    def __init__(self, args: argparse.Namespace, label: str, total: int):
        wanted = getattr(args, "progress", False)
        quiet = getattr(args, "quiet", False)
        self.enabled = not quiet and (
            wanted or (sys.stderr.isatty() and total >= PROGRESS_MIN_SIZE)
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
        "--opening-key",
        required=True,
        metavar="PUB",
        help="the tender's opening public key (PEM, hex, or the published JSON)",
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
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT")
    _passphrase_arg(p)
    _progress_args(p)


@command("seal", "seal a bid file for a tender", _seal_args)
def cmd_seal(args: argparse.Namespace) -> int:
    """Seal INPUT to the opening key and the bidder's key; print digest and size."""
    opening = _load_p256_public(args, args.opening_key)
    mine = _load_p256_public(args, args.my_key)
    signer = _load_private(args, args.sign_key) if args.sign_key else None
    recipients = [
        envelope.Recipient("bidder", mine),
        envelope.Recipient("opening", opening),
    ]
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
        )
    progress.done()
    print(f"sealed {args.output}")
    print(f"sha256: {result.sha256}")
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


# -- entry point ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered command."""
    parser = _Parser(
        prog="python -m crypto",
        description="Seal, inspect and open bid envelopes; verify receipts.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.configure(p)
        p.set_defaults(run=cmd.run)
    return parser


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
    except (CliError, CryptoError, OSError, ValueError) as exc:
        _report(_one_line(exc))
        return 1
    except KeyboardInterrupt:
        _report("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
