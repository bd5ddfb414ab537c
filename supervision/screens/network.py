"""Cross-tender screens: co-bidding groups, bid rotation, perennial losers.

Co-bidding groups follow Wachs & Kertész, "A network approach to cartel detection in
public auction markets" (Scientific Reports 9, 2019): bidders are nodes, an edge's weight
counts the tenders two bidders entered together; candidate groups are communities
(Louvain, fixed seed) of the graph kept to edges seen at least ``min_joint`` times; a
group is suspicious when it is

- cohesive: every pair of members bids together most of the time (cohesion = mean over
  member pairs of joint tenders / the tenders of the less active member), and
- exclusive: the members' co-bidding stays inside the group (exclusivity = the weight
  of the edges between members / the weight of all edges of the members).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations

import networkx as nx

from .market import Market
from .result import HIGH, LOW, MEDIUM, ScreenResult, quiet, raised


@dataclass
class Group:
    members: frozenset
    joint_tenders: list = field(default_factory=list)
    cohesion: float = 0.0
    exclusivity: float = 0.0

    @property
    def strength(self) -> float:
        return self.cohesion * self.exclusivity


def cobidding_graph(market: Market, *,
                    progress: Callable[[int], None] | None = None) -> nx.Graph:
    """Bidders joined by the number of tenders they entered together; each node's
    ``tenders`` is the number of tenders it entered."""
    pairs: Counter = Counter()
    entered: Counter = Counter()
    for k, tender in enumerate(market.tenders):
        names = sorted(set(market.bidders(tender)))
        entered.update(names)
        if len(names) <= 30:  # a framework tender with everyone in it says nothing
            pairs.update(combinations(names, 2))
        if progress and k % 1000 == 0:
            progress(k)
    g = nx.Graph()
    g.add_nodes_from((n, {"tenders": c}) for n, c in entered.items())
    g.add_weighted_edges_from((a, b, w) for (a, b), w in pairs.items())
    return g


def cobidding_groups(market: Market, *, min_joint: int = 2, max_size: int = 12,
                     graph: nx.Graph | None = None) -> list[Group]:
    """Candidate groups with their cohesion and exclusivity, strongest first."""
    full = graph if graph is not None else cobidding_graph(market)
    g = nx.Graph()
    g.add_weighted_edges_from((a, b, w) for a, b, w in full.edges(data="weight")
                              if w >= min_joint)
    if g.number_of_edges() == 0:
        return []
    communities = nx.community.louvain_communities(g, weight="weight", seed=0)
    candidates = []
    for comm in communities:
        if 2 <= len(comm) <= max_size:
            candidates.append(frozenset(comm))
        elif len(comm) > max_size:
            # Split an oversized community into the components of its heaviest edges.
            sub = g.subgraph(comm)
            cut = max(min_joint, _median_weight(sub) * 2)
            heavy = [(a, b) for a, b, w in sub.edges(data="weight") if w >= cut]
            candidates += [frozenset(cc) for cc in nx.connected_components(nx.Graph(heavy))
                           if 2 <= len(cc) <= max_size]
    bids_of: dict[str, list] = defaultdict(list)
    for t in market.tenders:
        for b in set(market.bidders(t)):
            bids_of[b].append(t)
    strength = dict(full.degree(weight="weight"))
    groups = [_measure(c, market, bids_of, full, strength) for c in candidates]
    return sorted(groups, key=lambda gr: -gr.strength)


def _median_weight(g: nx.Graph) -> float:
    w = sorted(d for _, _, d in g.edges(data="weight"))
    return w[len(w) // 2] if w else 0


def _measure(members: frozenset, market: Market, bids_of: dict, full: nx.Graph,
             strength: dict) -> Group:
    tenders = {t for m in members for t in bids_of[m]}
    joint = [t for t in tenders if sum(1 for n in market.bidders(t) if n in members) >= 2]
    overlaps, inside = [], 0.0
    for a, b in combinations(sorted(members), 2):
        w = full[a][b]["weight"] if full.has_edge(a, b) else 0
        inside += w
        overlaps.append(w / max(1, min(full.nodes[a]["tenders"], full.nodes[b]["tenders"])))
    total = sum(strength.get(m, 0) for m in members)
    return Group(members, sorted(joint, key=str),
                 sum(overlaps) / len(overlaps) if overlaps else 0.0,
                 2 * inside / total if total else 0.0)


def screen_cobidding_group(group: Group, *, min_joint: int = 3, cohesion: float = 0.5,
                           exclusivity: float = 0.6) -> ScreenResult:
    """A group that bids together (cohesion) and among itself (exclusivity)."""
    members = sorted(group.members)
    ev = dict(members=members, joint_tenders=group.joint_tenders[:100],
              cohesion=round(group.cohesion, 3), exclusivity=round(group.exclusivity, 3))
    if (len(group.joint_tenders) < min_joint or group.cohesion < cohesion
            or group.exclusivity < exclusivity):
        return quiet("cobidding_group", group.strength, **ev)
    sev = HIGH if group.cohesion >= 0.8 and group.exclusivity >= 0.8 else MEDIUM
    who = ", ".join(members)
    return raised(
        "cobidding_group", sev, group.strength,
        f"投标人 {who} 在 {len(group.joint_tenders)} 个项目中共同投标：其投标的 "
        f"{group.cohesion:.0%} 投向有其他成员参与的项目（凝聚度），这些项目中 "
        f"{group.exclusivity:.0%} 的投标来自该组（排他度）。",
        f"Bidders {who} bid together in {len(group.joint_tenders)} tenders: "
        f"{group.cohesion:.0%} of their bids go where another member bids (cohesion) and "
        f"{group.exclusivity:.0%} of the bids there are theirs (exclusivity).", **ev)


def screen_bid_rotation(group: Group, market: Market, *, min_joint: int = 4,
                        member_win_share: float = 0.7, evenness: float = 0.6
                        ) -> ScreenResult:
    """Members of a group take turns winning their joint tenders.

    Raised when members win at least ``member_win_share`` of the joint tenders, at least
    two members win, and the wins are spread evenly (normalised entropy of the win
    counts over the members >= ``evenness``).
    """
    joint = [t for t in group.joint_tenders if market.winners(t)]
    if len(joint) < min_joint or len(group.members) < 2:
        return quiet("bid_rotation", 0.0, en="too few joint tenders with a known winner",
                     zh="已知中标人的共同投标项目过少")
    wins = Counter(w for t in joint for w in market.winners(t) if w in group.members)
    share = sum(1 for t in joint if set(market.winners(t)) & group.members) / len(joint)
    total = sum(wins.values())
    h = -sum(c / total * math.log(c / total) for c in wins.values()) if total else 0.0
    even = h / math.log(len(group.members))
    ev = dict(members=sorted(group.members), wins=dict(wins), joint_tenders=len(joint),
              member_win_share=round(share, 3), evenness=round(even, 3))
    if share < member_win_share or len(wins) < 2 or even < evenness:
        return quiet("bid_rotation", share * even, **ev)
    listing = ", ".join(f"{k}×{v}" for k, v in sorted(wins.items()))
    return raised("bid_rotation", HIGH if share >= 0.9 and even >= 0.8 else MEDIUM,
                  share * even,
                  f"组内成员轮流中标：{len(joint)} 个共同项目中成员中标 {share:.0%}，"
                  f"中标分布 {listing}。",
                  f"Group members take turns winning: members won {share:.0%} of "
                  f"{len(joint)} joint tenders, wins spread {listing}.", **ev)


@dataclass
class BidderRecord:
    bids: int = 0
    wins: int = 0
    beside: Counter = field(default_factory=Counter)  # winner -> tenders lost to them


def bidder_records(market: Market) -> dict[str, BidderRecord]:
    recs: dict[str, BidderRecord] = defaultdict(BidderRecord)
    for t in market.tenders:
        winners = market.winners(t)
        for b in set(market.bidders(t)):
            r = recs[b]
            r.bids += 1
            if b in winners:
                r.wins += 1
            else:
                r.beside.update(w for w in winners if w != b)
    return dict(recs)


def screen_perennial_loser(bidder: str, rec: BidderRecord, *, min_bids: int = 5,
                           max_win_rate: float = 0.05, concentration: float = 0.5
                           ) -> ScreenResult:
    """陪标: a bidder that keeps bidding and (almost) never wins, and whose losses go
    mostly to the same one or two winners."""
    rate = rec.wins / rec.bids if rec.bids else 0.0
    lost = rec.bids - rec.wins
    top = rec.beside.most_common(2)
    conc = sum(c for _, c in top) / lost if lost else 0.0
    ev = dict(bidder=bidder, bids=rec.bids, wins=rec.wins, top_winners=dict(top),
              concentration=round(conc, 3))
    if rec.bids < min_bids or rate > max_win_rate or conc < concentration:
        return quiet("perennial_loser", conc * (1 - rate), **ev)
    to = ", ".join(f"{k}×{v}" for k, v in top)
    return raised("perennial_loser", MEDIUM if rec.bids >= 2 * min_bids else LOW,
                  conc * (1 - rate),
                  f"投标人 {bidder} 投标 {rec.bids} 次仅中标 {rec.wins} 次，"
                  f"{conc:.0%} 的落标输给同一两家（{to}），疑似长期陪标。",
                  f"Bidder {bidder} bid {rec.bids} times and won {rec.wins}; {conc:.0%} of "
                  f"its losses went to the same one or two winners ({to}): a perennial "
                  f"loser (cover bidder).", **ev)
