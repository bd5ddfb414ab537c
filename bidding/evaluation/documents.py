"""Which part of a bid's document a committee member gets, and in what form (暗标).

The bid package convention for anonymous technical bids (暗标)
-------------------------------------------------------------
A bid in a tender with ``anonymous_technical`` is ONE sealed document that is a ZIP file:

- ``technical/`` (top level, lower case): the anonymous technical part. PDF files only,
  in sub-folders if the bidder likes; no name, logo, seal or other identifying mark, as
  the tender documents require. Served to the committee in the technical stage under the
  bid's code number (暗标编号): each PDF stripped of its metadata
  (``core.pdf.sanitise.strip_pdf``), renamed ``<tender>-<code>-T01.pdf``, ``-T02`` ... in
  the order of the original paths, watermarked with the reader's identity. Any other file
  type there is NOT served under the code: the viewer lists it as refused ("technical
  files must be PDFs"), a fact the committee can record. Reason: images, office files and
  archives carry metadata (EXIF, document properties) this platform does not strip.
- everything else (e.g. ``qualification/``, ``commercial/``): the named part, served
  under the bidder's name (qualification and commercial review), any file type.

Serving by stage (``mode``):

- tender without 暗标, or 暗标 after the technical scores are locked
  (``committee.codes_revealed_at``): ``WHOLE``, the document as it was sealed (today's
  behaviour: a watermarked PDF, or a watermarked ZIP of the original).
- 暗标 before the lock, asked for under the code number: ``TECHNICAL``, only ``technical/``.
  A document that is not a ZIP with files under ``technical/`` is NEVER served under the
  code: the viewer states that the bid did not follow the package convention.
- 暗标 before the lock, asked for under ``b<id>`` (the bidder's name): ``NAMED``, every
  file outside ``technical/``. A document that is not such a package is served whole
  under the name (the bidder broke its own anonymity; the technical stage shows the
  breach). A package refused as unsafe is served in neither.

Parsing is done after decryption, from the at-rest reader
(``bidding.opening.selectors.open_bid_document``), in memory within ``LIMITS`` (never
written to disk): a package larger than ``package_bytes`` is refused before it is read
in full; the central directory is checked before any entry is decompressed (entry count,
declared sizes and ratios, names); each entry is decompressed in chunks, counting the real
output against the same limits. Refused: names that are absolute, contain ``..``, a
backslash, a drive letter or control characters, are too long or too deep, duplicates
(ignoring case), symbolic links, encrypted entries, unknown compression methods. ZIP
files inside the package are never expanded (under ``technical/`` they are refused as
non-PDF; elsewhere they are handed on as they are).
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from dataclasses import dataclass, field, fields, replace

from django.conf import settings
from django.utils.translation import gettext as _

from core.pdf.sanitise import SanitiseError, strip_pdf

WHOLE, TECHNICAL, NAMED = "whole", "technical", "named"
TECHNICAL_DIR = "technical/"
MIB = 1024 * 1024


@dataclass(frozen=True)
class PackageLimits:
    """Every limit on a bid package, in one place. Override any field with the setting
    ``EVALUATION_PACKAGE_LIMITS = {"entries": 2000, ...}`` (read on every call)."""

    #: The decrypted package held in memory, at most.
    package_bytes: int = 256 * MIB
    #: Entries in the central directory (files and folders).
    entries: int = 1000
    #: One entry, decompressed.
    entry_bytes: int = 128 * MIB
    #: All entries together, decompressed (declared, and counted while reading).
    total_bytes: int = 512 * MIB
    #: Decompressed / compressed size of one entry, for entries above ``ratio_floor``.
    ratio: int = 100
    ratio_floor: int = 1 * MIB
    #: A name's length in characters and its depth in folders.
    name_length: int = 255
    depth: int = 8


LIMITS = PackageLimits()


def limits() -> PackageLimits:
    extra = getattr(settings, "EVALUATION_PACKAGE_LIMITS", None) or {}
    known = {f.name for f in fields(PackageLimits)}
    return replace(LIMITS, **{k: int(v) for k, v in extra.items() if k in known})


class PackageRefused(ValueError):
    """The package cannot be opened safely; ``code`` names the rule, the message says
    it to the committee."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotAPackage(ValueError):
    """The document is not a ZIP file (or not a readable one)."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


@dataclass
class Entry:
    name: str  # the path as the bidder wrote it (decoded)
    info: zipfile.ZipInfo = field(repr=False)

    @property
    def technical(self) -> bool:
        return self.name.lower().startswith(TECHNICAL_DIR)

    @property
    def size(self) -> int:
        return self.info.file_size


def _decoded_name(info: zipfile.ZipInfo) -> str:
    """ZIP tools on Chinese Windows write GBK names without the UTF-8 flag; zipfile
    then decodes them as cp437."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("gbk")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _check_name(name: str, lim: PackageLimits) -> None:
    bad = PackageRefused("package_bad_name", _(
        "The package holds a file name that is not allowed (absolute path, “..”, "
        "backslash, drive letter or control character): %(name)s")
        % {"name": _CONTROL.sub("?", name)[:200]})
    if not name or _CONTROL.search(name) or "\\" in name or name.startswith("/"):
        raise bad
    parts = name.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts) or ":" in parts[0]:
        raise bad
    if len(name) > lim.name_length or len(parts) > lim.depth:
        raise PackageRefused("package_name_too_long", _(
            "A file name in the package is longer than %(n)d characters or deeper than "
            "%(d)d folders.") % {"n": lim.name_length, "d": lim.depth})


class Package:
    """A checked ZIP package held in memory: ``files`` (folders left out) in path order;
    ``read(entry)`` decompresses one entry within the limits."""

    def __init__(self, data: bytes, lim: PackageLimits) -> None:
        self.limits = lim
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError,
                EOFError) as exc:
            raise NotAPackage(str(exc)) from exc
        if len(infos) > lim.entries:
            raise PackageRefused("package_too_many_entries", _(
                "The package holds more than %(n)d entries.") % {"n": lim.entries})
        seen, total, files = set(), 0, []
        for info in infos:
            name = _decoded_name(info)
            _check_name(name, lim)
            if name.lower() in seen:
                raise PackageRefused("package_duplicate_name", _(
                    "The package holds the same name twice: %(name)s") % {"name": name})
            seen.add(name.lower())
            if stat.S_ISLNK(info.external_attr >> 16):
                raise PackageRefused("package_link", _(
                    "The package holds a symbolic link: %(name)s") % {"name": name})
            if info.flag_bits & 0x1:
                raise PackageRefused("package_encrypted", _(
                    "The package holds an encrypted entry: %(name)s") % {"name": name})
            if info.compress_type not in _METHODS:
                raise PackageRefused("package_compression", _(
                    "The package uses an unknown compression method: %(name)s")
                    % {"name": name})
            self._check_size(name, info.file_size, info.compress_size)
            total += info.file_size
            if total > lim.total_bytes:
                raise self._too_big_total()
            if not info.is_dir():
                files.append(Entry(name=name, info=info))
        self.files = sorted(files, key=lambda e: e.name)

    def _too_big_total(self) -> PackageRefused:
        return PackageRefused("package_too_large", _(
            "The package unpacks to more than %(mb)d MiB.")
            % {"mb": self.limits.total_bytes // MIB})

    def _check_size(self, name: str, size: int, compressed: int) -> None:
        lim = self.limits
        if size > lim.entry_bytes:
            raise PackageRefused("package_entry_too_large", _(
                "%(name)s unpacks to more than %(mb)d MiB.")
                % {"name": name, "mb": lim.entry_bytes // MIB})
        if size > lim.ratio_floor and size > lim.ratio * max(compressed, 1):
            raise PackageRefused("package_ratio", _(
                "%(name)s is compressed more than %(r)d to 1 (a ZIP bomb?).")
                % {"name": name, "r": lim.ratio})

    @property
    def technical(self) -> list[Entry]:
        return [e for e in self.files if e.technical]

    @property
    def others(self) -> list[Entry]:
        return [e for e in self.files if not e.technical]

    def read(self, entry: Entry) -> bytes:
        """The entry's bytes, decompressed in chunks; the count is checked against the
        limits whatever the directory declared."""
        lim = self.limits
        out = bytearray()
        try:
            with self._zip.open(entry.info) as fh:
                while chunk := fh.read(MIB):
                    out += chunk
                    if len(out) > lim.entry_bytes or len(out) > lim.total_bytes:
                        raise PackageRefused("package_entry_too_large", _(
                            "%(name)s unpacks to more than %(mb)d MiB.")
                            % {"name": entry.name, "mb": lim.entry_bytes // MIB})
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            if isinstance(exc, PackageRefused):
                raise
            raise PackageRefused("package_damaged", _(
                "%(name)s in the package is damaged: %(err)s")
                % {"name": entry.name, "err": exc}) from exc
        self._check_size(entry.name, len(out), entry.info.compress_size)
        return bytes(out)


def read_limited(fh, lim: PackageLimits) -> bytes:
    """Read a decrypted document into memory, refusing one above ``package_bytes``."""
    data = fh.read(lim.package_bytes + 1)
    if len(data) > lim.package_bytes:
        raise PackageRefused("package_too_large", _(
            "The document is larger than %(mb)d MiB: too large to be split into its parts "
            "here.") % {"mb": lim.package_bytes // MIB})
    return data


def package_open(data: bytes, lim: PackageLimits | None = None) -> Package:
    """Check ``data`` as a bid package. Raises ``NotAPackage`` (not a ZIP) or
    ``PackageRefused`` (unsafe: see the module docstring)."""
    lim = lim or limits()
    if len(data) > lim.package_bytes:
        raise PackageRefused("package_too_large", _(
            "The document is larger than %(mb)d MiB: too large to be split into its parts "
            "here.") % {"mb": lim.package_bytes // MIB})
    return Package(data, lim)


# --- what a member gets ---------------------------------------------------------------------


def serving_mode(committee, key: str) -> str:
    """``WHOLE``, ``TECHNICAL`` (the code number, 暗标 before the technical lock) or
    ``NAMED`` (``b<id>``, 暗标 before the lock)."""
    if not committee.tender.anonymous_technical or committee.codes_revealed_at is not None:
        return WHOLE
    return TECHNICAL if str(key).isdigit() else NAMED


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF-")


@dataclass
class Served:
    """One file as a member gets it: ``number`` (1-based, the ``?file=`` parameter),
    ``name`` (the served file name), ``label`` (shown on the page), ``refused`` (why it
    is not served, or "")."""

    number: int
    name: str
    label: str
    entry: Entry = field(repr=False)
    pdf: bool = True
    refused: str = ""


@dataclass
class Part:
    """What the viewer shows for a mode: the files, or why there are none."""

    mode: str
    files: list[Served] = field(default_factory=list)
    #: "" when the package follows the convention; else a code and a message.
    problem: str = ""
    message: str = ""
    package: Package | None = field(default=None, repr=False)

    @property
    def served(self) -> list[Served]:
        return [f for f in self.files if not f.refused]


NOT_FOLLOWED = "package_convention_not_followed"


def not_followed() -> str:
    return _("This bid did not follow the package convention of anonymous technical bids: "
             "its document is not a ZIP file with the technical part in a “technical/” "
             "folder. Its technical part cannot be shown under the code number; the "
             "committee may record this as non-responsive.")


def _nameless(exc: PackageRefused) -> str:
    """A refusal told under the code number: the rule, never an entry's name (the names
    are the bidder's and may name it)."""
    rules = {
        "package_bad_name": _("a file name that is not allowed"),
        "package_name_too_long": _("a file name that is too long or too deep"),
        "package_duplicate_name": _("the same name twice"),
        "package_link": _("a symbolic link"),
        "package_encrypted": _("an encrypted entry"),
        "package_compression": _("an unknown compression method"),
        "package_entry_too_large": _("a file above the size limit"),
        "package_too_large": _("more than the size limit"),
        "package_ratio": _("a file compressed beyond the allowed ratio (a ZIP bomb?)"),
        "package_too_many_entries": _("more entries than allowed"),
        "package_damaged": _("a damaged file"),
    }
    return _("The package could not be opened safely: it holds %(rule)s. The committee "
             "may record this.") % {"rule": rules.get(exc.code, exc.code)}


def split(data: bytes, *, mode: str, base: str) -> Part:
    """The part of the decrypted document ``data`` that ``mode`` serves. ``base`` is the
    start of every served file name (``<tender>-<key>``)."""
    try:
        package = package_open(data)
    except NotAPackage:
        package = None
    except PackageRefused as exc:
        return Part(mode=mode, problem=exc.code, message=_nameless(exc) if mode == TECHNICAL
                    else _("The package could not be opened safely: %(why)s The committee "
                           "may record this.") % {"why": exc.message})
    technical = package.technical if package is not None else []
    if not technical:
        if mode == TECHNICAL:
            return Part(mode=mode, problem=NOT_FOLLOWED, message=not_followed())
        return Part(mode=WHOLE, problem=NOT_FOLLOWED, message=not_followed())
    part = Part(mode=mode, package=package)
    if mode == TECHNICAL:
        for i, entry in enumerate(technical, start=1):
            part.files.append(Served(number=i, name=f"{base}-T{i:02d}.pdf",
                                     label=f"T{i:02d}", entry=entry))
    else:
        for i, entry in enumerate(package.others, start=1):
            ext = entry.name.rsplit(".", 1)[-1].lower() if "." in entry.name else "bin"
            ext = re.sub(r"[^a-z0-9]", "", ext)[:8] or "bin"
            part.files.append(Served(number=i, name=f"{base}-{i:02d}.{ext}",
                                     label=entry.name, entry=entry,
                                     pdf=ext == "pdf"))
    return part


def technical_file(part: Part, served: Served) -> bytes:
    """A technical file's bytes stripped of metadata. Raises ``PackageRefused`` with the
    reason (not a PDF, unreadable PDF) and marks the file refused."""
    try:
        data = part.package.read(served.entry)
    except PackageRefused as exc:
        served.refused = _nameless(exc)
        raise PackageRefused(exc.code, served.refused) from exc
    if not is_pdf(data):
        served.refused = _("Not served under the code number: the technical files of an "
                           "anonymous bid must be PDF files.")
        raise PackageRefused("technical_not_pdf", served.refused)
    try:
        return strip_pdf(data)
    except SanitiseError as exc:
        served.refused = _("Not served under the code number: the PDF could not be "
                           "cleaned of its metadata (%(why)s).") % {"why": exc}
        raise PackageRefused("technical_unreadable_pdf", served.refused) from exc


def check_technical(part: Part) -> None:
    """Mark the technical files that will be refused (for the viewer's list)."""
    for served in part.files:
        try:
            technical_file(part, served)
        except PackageRefused:
            pass


# --- the bytes handed out -------------------------------------------------------------------


def _watermarked_file(part: Part, served: Served, lines: list[str]) -> tuple[bytes, str, str]:
    """(body, content type, file name) of one served file, watermarked."""
    from core.pdf.watermark import WatermarkError, watermark_package, watermark_pdf

    data = (technical_file(part, served) if part.mode == TECHNICAL
            else part.package.read(served.entry))
    if is_pdf(data):
        try:
            return watermark_pdf(data, lines), "application/pdf", served.name
        except WatermarkError as exc:
            if part.mode == TECHNICAL:  # stripped, so readable: should not happen
                raise PackageRefused("technical_unreadable_pdf", str(exc)) from exc
    stem = served.name.rsplit(".", 1)[0]
    return (watermark_package(served.name, data, lines), "application/zip",
            f"{stem}.zip")


def render(part: Part, number: int | None, lines: list[str], *, inline: bool
           ) -> tuple[bytes, str, str]:
    """(body, content type, file name) of what a member asked for: file ``number``
    (1-based), or with no number the first file (inline) or every file (a download: the
    file itself when there is one, else a ZIP of them all, watermarked, with
    ``WATERMARK.txt``). Raises ``LookupError`` for a number that is not there and
    ``PackageRefused`` for a file that is not served."""
    if number is not None:
        match = [f for f in part.files if f.number == number]
        if not match:
            raise LookupError(number)
        return _watermarked_file(part, match[0], lines)
    if inline or len(part.files) == 1:
        if not part.files:
            raise LookupError(number)
        return _watermarked_file(part, part.files[0], lines)
    from core.pdf.watermark import clean_lines

    note = ("\n".join(clean_lines(lines)) + "\n").encode("utf-8")
    out = io.BytesIO()
    refused = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("WATERMARK.txt", date_time=(1980, 1, 1, 0, 0, 0)), note)
        for served in part.files:
            try:
                body, _ctype, name = _watermarked_file(part, served, lines)
            except PackageRefused as exc:
                refused.append(f"{served.label}: {exc.message}")
                continue
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, body)
        if refused:
            zf.writestr(zipfile.ZipInfo("REFUSED.txt", date_time=(1980, 1, 1, 0, 0, 0)),
                        ("\n".join(refused) + "\n").encode("utf-8"))
        zf.comment = note[:65535]
    base = part.files[0].name.rsplit("-", 1)[0] if part.files else "document"
    suffix = "technical" if part.mode == TECHNICAL else "parts"
    return out.getvalue(), "application/zip", f"{base}-{suffix}.zip"
