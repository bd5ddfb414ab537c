"""PDFs without identifying metadata, for anonymous technical bids (暗标).

``strip_pdf(data)`` returns a copy of a PDF that keeps its pages (content, fonts, images,
the visible appearance of annotations) and drops what can name the author without being
part of the page:

- the document information dictionary (Author, Creator, Producer, Title, Subject,
  Keywords, dates) and the trailer's document ID (/ID): no new ID is written;
- XMP metadata (/Metadata streams on the catalog, pages, images, fonts...) and
  application private data (/PieceInfo, /LastModified), page thumbnails (/Thumb);
- the whole document catalog beyond the page tree: the name tree with embedded files and
  document JavaScript, /OpenAction, /AA, /AcroForm, outlines, page labels, structure tree;
- on annotations: the author (/T), the unique name (/NM), their additional actions; file
  attachment, sound, movie, screen and rich-media annotations are removed whole;
- actions that run code or reach outside (/JavaScript, /Launch, /SubmitForm, /ImportData,
  /GoToR, /GoToE, /URI, /Rendition, /Sound, /Movie) wherever a dictionary carries them
  (/A, /OpenAction, /Next, /AA), and every embedded-file stream (/EF) of a file spec.

What is drawn on the pages is the bidder's own text: a name printed there stays (the
tender documents forbid it; the committee judges it). Bookmarks and internal named
destinations are lost with the catalog; the pages read the same.

Raises ``SanitiseError`` (a ValueError) for a file that is not a readable PDF, is
encrypted, or has more pages than ``MAX_PAGES``.
"""

from __future__ import annotations

import io

#: A technical part longer than this is refused rather than processed in the request.
MAX_PAGES = 5000

#: Keys removed from every dictionary reachable from the pages.
DROP_KEYS = frozenset({
    "/Metadata", "/PieceInfo", "/LastModified", "/Thumb", "/AA", "/JS", "/EF",
    "/T", "/NM", "/RF",
})
#: Action types removed wherever they appear.
DROP_ACTIONS = frozenset({
    "/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/URI",
    "/Rendition", "/Sound", "/Movie", "/RichMediaExecute",
})
#: Annotation subtypes removed whole (they embed files or media).
DROP_ANNOTATIONS = frozenset({
    "/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D",
})
_ACTION_KEYS = ("/A", "/OpenAction", "/Next")
# /T is a title only on annotations and fields; elsewhere (e.g. a /Thread dictionary)
# it is dropped too: nothing on a page needs it to be drawn.


class SanitiseError(ValueError):
    """The PDF could not be sanitised (not a PDF, encrypted, damaged, too long)."""


def _resolve(obj):
    # pypdf is imported where it is used: a web process starts without it (test_startup).
    from pypdf.generic import IndirectObject

    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _is_bad_action(obj) -> bool:
    from pypdf.generic import ArrayObject, DictionaryObject

    obj = _resolve(obj)
    if isinstance(obj, ArrayObject):
        return any(_is_bad_action(o) for o in obj)
    return isinstance(obj, DictionaryObject) and str(obj.get("/S", "")) in DROP_ACTIONS


def _clean(obj, seen: set[int]) -> None:
    """Remove identifying keys, code and embedded files from everything reachable."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            for key in list(item.keys()):
                if key in DROP_KEYS:
                    del item[key]
                elif key in _ACTION_KEYS and _is_bad_action(item[key]):
                    del item[key]
            annots = item.get("/Annots")
            if annots is not None:
                kept = ArrayObject(
                    a for a in _resolve(annots)
                    if str(_resolve(a).get("/Subtype", "")) not in DROP_ANNOTATIONS)
                item[NameObject("/Annots")] = kept
            # /Parent and /P lead back up the page tree: the pages are visited anyway.
            stack.extend(v for k, v in item.items() if k not in ("/Parent", "/P"))
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def strip_pdf(data: bytes) -> bytes:
    """A copy of the PDF ``data`` with no identifying metadata (see the module
    docstring for what goes). Raises ``SanitiseError``."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(bytes(data)))
        if reader.is_encrypted:
            raise SanitiseError("the PDF is encrypted")
        pages = list(reader.pages)
        if not pages:
            raise SanitiseError("the PDF has no pages")
        if len(pages) > MAX_PAGES:
            raise SanitiseError(f"the PDF has more than {MAX_PAGES} pages")
        writer = PdfWriter()
        for page in pages:
            writer.add_page(page)
        seen: set[int] = set()
        for page in writer.pages:
            _clean(page.indirect_reference or page, seen)
        writer.metadata = None
        writer._ID = None  # no document ID: the original one could link copies
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        out = io.BytesIO()
        writer.write(out)
    except SanitiseError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError,
            IndexError, RecursionError) as exc:
        raise SanitiseError(f"not a readable PDF: {exc}") from exc
    return out.getvalue()
