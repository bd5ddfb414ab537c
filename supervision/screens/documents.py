"""Document screens on one tender: near-duplicate bid documents and identical rare
strings (shared typos, copied odd sentences).

Near-duplicates use datasketch's MinHash and MinHashLSH on shingles of the normalised
text. A shingle is ``SHINGLE_BYTES`` consecutive bytes of the UTF-8 text (about three
Chinese characters or a short English phrase), fingerprinted with numpy in one pass so
that a 1 MB document costs milliseconds. For large documents only the shingles whose
fingerprint is 0 modulo a power of two are kept (the same modulus for every bid of the
tender): that keeps Jaccard similarity unbiased (Broder's mod-m sampling) and keeps the
MinHash cost flat. The pairs LSH proposes are confirmed on the MinHash estimate.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
from datasketch import MinHash, MinHashLSH

from .result import HIGH, MEDIUM, ScreenResult, quiet, raised

SHINGLE_BYTES = 9
NUM_PERM = 128
TARGET_SHINGLES = 20_000
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def normalise(text: str) -> bytes:
    """Lower case, one space for any run of white space."""
    return re.sub(r"\s+", " ", text.lower()).strip().encode("utf-8")


def shingle_fingerprints(data: bytes, k: int = SHINGLE_BYTES) -> np.ndarray:
    """Unique 64-bit fingerprints of every k-byte shingle of ``data``."""
    b = np.frombuffer(data, dtype=np.uint8).astype(np.uint64)
    if len(b) < k:
        return np.unique(np.array([hash(data) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)) \
            if data else np.zeros(0, dtype=np.uint64)
    n = len(b) - k + 1
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * np.uint64(0x100000001B3) + b[j:j + n]
        # splitmix64 finaliser: the polynomial alone leaves the low bits poorly mixed.
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return np.unique(h)


def sampling_modulus(sizes: Sequence[int], target: int = TARGET_SHINGLES) -> int:
    """A power of two m such that the median document keeps about ``target`` shingles."""
    if not sizes:
        return 1
    median = sorted(sizes)[len(sizes) // 2]
    m = 1
    while median // (m * 2) >= target:
        m *= 2
    return m


def sample(fps: np.ndarray, modulus: int) -> np.ndarray:
    if modulus <= 1:
        return fps
    return fps[(fps & np.uint64(modulus - 1)) == 0]


def minhash_of(fps: np.ndarray, num_perm: int = NUM_PERM) -> MinHash:
    m = MinHash(num_perm=num_perm, seed=1, hashfunc=int)
    # datasketch hashes values to 32 bits; the fingerprint's high bits are as good as any.
    m.update_batch((fps >> np.uint64(32)).tolist())
    return m


def near_duplicate_pairs(texts: Mapping, *, threshold: float = 0.5,
                         lsh_threshold: float = 0.4, num_perm: int = NUM_PERM
                         ) -> list[tuple[object, object, float]]:
    """Pairs of documents whose estimated Jaccard similarity reaches ``threshold``.

    ``texts`` maps a key (bid id) to its text. LSH runs at a lower threshold than the
    confirmation so that pairs just above ``threshold`` are not lost to banding.
    """
    fps = {key: shingle_fingerprints(normalise(t)) for key, t in texts.items() if t}
    modulus = sampling_modulus([len(v) for v in fps.values()])
    hashes = {key: minhash_of(sample(v, modulus), num_perm) for key, v in fps.items()}
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


def _lines(text: str, min_chars: int) -> set[str]:
    parts = re.split(r"[\n。！？!?；;]+|(?<=[.])\s", text)
    return {re.sub(r"\s+", " ", p).strip().lower() for p in parts
            if len(p.strip()) >= min_chars}


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
            per_bidder[who] |= _lines(b["text"], min_chars)
            bid_of[who].append(b.get("bid", i))
    if len(per_bidder) < 2:
        return quiet("identical_rare_strings", 0.0)
    boiler = _lines(common_text, min_chars) if common_text else set()
    holders: dict[str, list[str]] = defaultdict(list)
    for who, lines in per_bidder.items():
        for line in lines - boiler:
            holders[line].append(who)
    limit = max(2, int(max_share * len(per_bidder)))
    rare = {line: sorted(w) for line, w in holders.items() if 2 <= len(w) <= limit}
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
