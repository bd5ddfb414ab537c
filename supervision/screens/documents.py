"""Document screens on one tender: near-duplicate bid documents and identical rare
strings (shared typos, copied odd sentences).

Near-duplicates use datasketch's MinHash and MinHashLSH on shingles of the normalised
text. A shingle is ``SHINGLE_BYTES`` consecutive bytes of the UTF-8 text (five Chinese
characters or two or three English words), fingerprinted with numpy in one pass so
that a 1 MB document costs milliseconds. For large documents only the shingles whose
fingerprint is 0 modulo a power of two are kept (the same modulus for every bid of the
tender): that keeps Jaccard similarity unbiased (Broder's mod-m sampling) and keeps the
MinHash cost flat. The pairs LSH proposes are confirmed on the MinHash estimate.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import chain, combinations

import numpy as np
from datasketch import MinHash, MinHashLSH

from .result import HIGH, MEDIUM, ScreenResult, quiet, raised

SHINGLE_BYTES = 16
NUM_PERM = 128
TARGET_SHINGLES = 4_000
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


_WHITE = np.zeros(256, dtype=bool)
_WHITE[[9, 10, 11, 12, 13, 32]] = True


@lru_cache(maxsize=512)
def normalise(text: str) -> bytes:
    """Lower case, one space for any run of ASCII white space, as UTF-8 bytes (cached:
    several screens read the same bid's text). Done on the bytes with numpy: splitting
    and joining a 1 MB str costs several times more."""
    raw = np.frombuffer(text.lower().encode("utf-8"), dtype=np.uint8)
    if raw.size == 0:
        return b""
    white = _WHITE[raw]
    keep = ~white
    keep[1:] |= white[1:] & ~white[:-1]  # the first of a run of white space stays
    out = np.where(white, np.uint8(32), raw)[keep]
    start = 1 if out.size and out[0] == 32 else 0
    end = out.size - 1 if out.size > start and out[-1] == 32 else out.size
    return out[start:end].tobytes()


@lru_cache(maxsize=512)
def normalised_text(text: str) -> str:
    """normalise() as a str."""
    return normalise(text).decode("utf-8")


_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xC2B2AE3D27D4EB4F)


def _words(data: bytes, n: int) -> np.ndarray:
    """The little-endian 64-bit word at every byte offset 0..n-1 (an unaligned strided
    view: no copy)."""
    return np.ndarray(shape=(n,), dtype="<u8", buffer=data, offset=0, strides=(1,))


def shingle_fingerprints(data: bytes, k: int = SHINGLE_BYTES, modulus: int = 1) -> np.ndarray:
    """Sorted unique 64-bit fingerprints of the 16-byte shingles of ``data``; with
    ``modulus`` > 1 (a power of two) only about one shingle in ``modulus`` is kept.

    The shingle at offset i is read as two 64-bit words (bytes i..i+7 and i+8..i+15)
    through unaligned strided views. Sampling keeps a shingle when the multiplicative
    hash of its first word falls in the lowest 1/modulus of the range: a function of
    the shingle alone, so every document keeps the same shingles and Jaccard similarity
    is preserved, and only the kept shingles pay for the full mixing.
    """
    if k != 16:
        raise ValueError("shingles are 16 bytes")
    if not data:
        return np.zeros(0, dtype=np.uint64)
    if len(data) < k:
        data = data + b"\0" * (k - len(data))
    n = len(data) - k + 1
    words = _words(data, n + 8)
    with np.errstate(over="ignore"):
        first = words[:n] * _C1
        if modulus > 1:
            keep = np.flatnonzero(first < np.uint64((1 << 64) // modulus))
            h = first[keep] + words[keep + 8] * _C2
        else:
            h = first + words[8:8 + n] * _C2
        # splitmix64 finaliser.
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    # Sort-based unique: numpy's default (hash-based) unique is slower on large arrays.
    h.sort()
    if len(h) > 1:
        h = h[np.concatenate(([True], h[1:] != h[:-1]))]
    return h


def find_names(text: str, names: Mapping) -> dict:
    """Which of ``names`` (key -> name) occur in ``text``, both normalised: key ->
    character offset. One pass over the document for all the names: each name is
    anchored on an 8-byte window of its UTF-8 form; the document's 8-byte words are
    screened against the anchors' first two bytes, then against the anchors, and a hit
    is confirmed on the whole name. Names shorter than 8 bytes use str.find."""
    data = normalise(text)
    out: dict = {}
    anchored: dict[int, list] = defaultdict(list)
    for key, name in names.items():
        nb = normalised_text(name).encode("utf-8")
        if not nb:
            continue
        if len(nb) < 8 or len(data) < 8:
            at = data.find(nb)
            if at >= 0:
                out[key] = at
            continue
        anchored[int.from_bytes(nb[:8], "little")].append((key, nb))
    if anchored:
        n = len(data) - 7
        table = np.zeros(65536, dtype=bool)
        anchors = np.array(sorted(anchored), dtype=np.uint64)
        table[(anchors & np.uint64(0xFFFF)).astype(np.int64)] = True
        low16 = np.ndarray(shape=(n,), dtype="<u2", buffer=data, offset=0, strides=(1,))
        pos = np.flatnonzero(table[low16])
        if len(pos):
            w = _words(data, n)[pos]
            hit = np.isin(w, anchors)
            for p, word in zip(pos[hit].tolist(), w[hit].tolist(), strict=True):
                for key, nb in anchored[word]:
                    if key not in out and data.startswith(nb, p):
                        out[key] = p
    # Byte offsets to character offsets, for the evidence's context.
    return {k: len(data[:p].decode("utf-8", "ignore")) for k, p in out.items()}


def sampled_fingerprints(text: str, modulus: int) -> np.ndarray:
    return shingle_fingerprints(normalise(text), modulus=modulus)


def lines_of(text: str, min_chars: int) -> set[str]:
    return _lines(text, min_chars)


def names_in(text: str, names: Mapping) -> dict:
    return find_names(text, names)


def bidder_names(bids: Sequence[Mapping], min_len: int = 4) -> dict[str, str]:
    """bidder -> name, for the names long enough to search for."""
    names = {str(b.get("bidder")): str(b.get("bidder_name") or "").strip() for b in bids}
    return {k: v for k, v in names.items() if len(v) >= min_len}


def sampling_modulus(sizes: Sequence[int], target: int = TARGET_SHINGLES) -> int:
    """A power of two m such that the median document keeps about ``target`` shingles
    (sizes in characters: at least one shingle per character)."""
    if not sizes:
        return 1
    median = sorted(sizes)[len(sizes) // 2]
    m = 1
    while median // (m * 2) >= target:
        m *= 2
    return m


def minhash_of(fps: np.ndarray, num_perm: int = NUM_PERM) -> MinHash:
    m = MinHash(num_perm=num_perm, seed=1, hashfunc=int)
    # datasketch hashes values to 32 bits; the fingerprint's high bits are as good as any.
    m.update_batch((fps >> np.uint64(32)).tolist())
    return m


def near_duplicate_pairs(texts: Mapping, *, threshold: float = 0.5,
                         lsh_threshold: float = 0.3, num_perm: int = NUM_PERM
                         ) -> list[tuple[object, object, float]]:
    """Pairs of documents whose estimated Jaccard similarity reaches ``threshold``.

    ``texts`` maps a key (bid id) to its text. LSH runs at a lower threshold than the
    confirmation so that pairs just above ``threshold`` are not lost to banding.
    """
    data = {key: t for key, t in texts.items() if t}
    modulus = sampling_modulus([len(t) for t in data.values()])
    # Threads: most of the per-document work is numpy on large arrays, which runs
    # without the interpreter lock, so a second core helps.
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        fps = list(pool.map(lambda t: sampled_fingerprints(t, modulus), data.values()))
    hashes = {key: minhash_of(f, num_perm) for key, f in zip(data, fps, strict=True)}
    lsh = MinHashLSH(threshold=lsh_threshold, num_perm=num_perm)
    for key, m in hashes.items():
        lsh.insert(key, m)
    out, seen = [], set()
    for key, m in hashes.items():
        for other in lsh.query(m):
            pair = frozenset((key, other))
            if other == key or pair in seen:
                continue
            seen.add(pair)
            j = m.jaccard(hashes[other])
            if j >= threshold:
                a, b = sorted((key, other), key=str)
                out.append((a, b, j))
    return sorted(out, key=lambda p: -p[2])


def screen_near_duplicate_documents(bids: Sequence[Mapping], *, threshold: float = 0.5
                                    ) -> ScreenResult:
    """Bids of different bidders whose documents (``text``) are near-duplicates."""
    texts = {b.get("bid", i): b.get("text") or "" for i, b in enumerate(bids)}
    bidder = {b.get("bid", i): str(b.get("bidder", i)) for i, b in enumerate(bids)}
    if sum(1 for t in texts.values() if t) < 2:
        return quiet("near_duplicate_documents", 0.0)
    pairs = [p for p in near_duplicate_pairs(texts, threshold=threshold)
             if bidder[p[0]] != bidder[p[1]]]
    if not pairs:
        return quiet("near_duplicate_documents", 0.0)
    best = pairs[0][2]
    ev = [{"bids": [a, b], "bidders": [bidder[a], bidder[b]], "jaccard": round(j, 3)}
          for a, b, j in pairs]
    listing = "; ".join(f"{'/'.join(e['bidders'])} {e['jaccard']:.0%}" for e in ev[:10])
    return raised("near_duplicate_documents", HIGH if best >= 0.8 else MEDIUM, best,
                  f"不同投标人的投标文件高度雷同（Jaccard 相似度）：{listing}。",
                  f"Different bidders' documents are near-duplicates (Jaccard similarity): "
                  f"{listing}.", pairs=ev)


_SENTENCE_ENDS = ("。", "！", "？", "!", "?", "；", ";", ". ")


def _lines(text: str, min_chars: int) -> set[str]:
    """Sentences of at least ``min_chars`` characters of the normalised text (chained
    str.replace: a regular expression split costs several times more on 1 MB)."""
    t = normalised_text(text)
    for end in _SENTENCE_ENDS:
        if end in t:
            t = t.replace(end, "\n")
    return {p.strip() for p in t.split("\n") if len(p) >= min_chars}


def screen_identical_rare_strings(bids: Sequence[Mapping], *, min_chars: int = 20,
                                  max_share: float = 0.34, common_text: str = ""
                                  ) -> ScreenResult:
    """Sentences of at least ``min_chars`` characters found in the documents of two or
    more bidders but in few of the tender's bids (at most ``max_share`` of them, and
    never in ``common_text``, e.g. the tender documents bidders copy from): a shared
    typo or an odd phrase passes from one author to another, boilerplate does not."""
    per_bidder: dict[str, set[str]] = defaultdict(set)
    bid_of: dict[str, list] = defaultdict(list)
    for i, b in enumerate(bids):
        if b.get("text"):
            who = str(b.get("bidder", i))
            per_bidder[who] |= lines_of(b["text"], min_chars)
            bid_of[who].append(b.get("bid", i))
    if len(per_bidder) < 2:
        return quiet("identical_rare_strings", 0.0)
    boiler = _lines(common_text, min_chars) if common_text else set()
    # Count in C (Counter over all sentences), then look up holders of the few
    # sentences that are shared but rare: a tender of 200 large bids holds millions.
    counts = Counter(chain.from_iterable(per_bidder.values()))
    limit = max(2, int(max_share * len(per_bidder)))
    wanted = {line for line, c in counts.items() if 2 <= c <= limit} - boiler
    holders: dict[str, list[str]] = defaultdict(list)
    if wanted:
        for who, lines in per_bidder.items():
            for line in lines & wanted:
                holders[line].append(who)
    rare = {line: sorted(w) for line, w in holders.items()}
    if not rare:
        return quiet("identical_rare_strings", 0.0)
    by_pair: dict[tuple, list[str]] = defaultdict(list)
    for line, who in rare.items():
        for pair in combinations(who, 2):
            by_pair[pair].append(line)
    ev = [{"bidders": list(p), "strings": sorted(s)[:20], "count": len(s)}
          for p, s in sorted(by_pair.items(), key=lambda kv: -len(kv[1]))]
    top = ev[0]
    return raised(
        "identical_rare_strings", HIGH if top["count"] >= 3 else MEDIUM, float(len(rare)),
        f"{len(rare)} 处少见的相同语句（含错别字）出现在不同投标人的文件中，例如："
        f"“{top['strings'][0][:60]}”（{'/'.join(top['bidders'])}）。",
        f"{len(rare)} rare identical strings (shared typos, odd phrases) appear in "
        f"different bidders' documents, e.g. \"{top['strings'][0][:60]}\" "
        f"({'/'.join(top['bidders'])}).", pairs=ev[:20])
