"""Uniqueness, novelty and V.U.N. by graph isomorphism, as DiGress / SPECTRE count them.

A generated graph is *unique* if it is not isomorphic to an earlier generated graph, *novel* if
it is not isomorphic to any training graph; V.U.N. is the fraction of generated graphs that are
unique, novel and valid, counted in DiGress's order (``eval_fraction_unique_non_isomorphic_valid``:
novelty and validity are only checked for the unique ones). Isomorphism is exact
(``nx.is_isomorphic``); candidates are bucketed by (nodes, edges, Weisfeiler–Lehman hash), an
isomorphism invariant, instead of the reference's ``faster_could_be_isomorphic`` pre-filter —
both only skip pairs that cannot be isomorphic, so the counts are the same.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

import networkx as nx

from polydit.core.errors import ConfigError

WL_ITERATIONS = 3


def _key(graph: nx.Graph) -> tuple[int, int, str]:
    """(nodes, edges, WL hash): equal for isomorphic graphs. The hash is only compared within
    one run, so networkx 3.5's warning that its values changed does not apply."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        wl = nx.weisfeiler_lehman_graph_hash(graph, iterations=WL_ITERATIONS)
    return graph.number_of_nodes(), graph.number_of_edges(), wl


class IsomorphismIndex:
    """A set of graphs up to isomorphism: ``contains`` and ``add`` in (nearly) one hash lookup."""

    def __init__(self, graphs: Iterable[nx.Graph] = ()) -> None:
        self._buckets: dict[tuple[int, int, str], list[nx.Graph]] = {}
        for graph in graphs:
            self.add(graph)

    def contains(self, graph: nx.Graph) -> bool:
        return any(nx.is_isomorphic(graph, other) for other in self._buckets.get(_key(graph), ()))

    def add(self, graph: nx.Graph) -> bool:
        """Add `graph`; False if an isomorphic graph was already there (then nothing changes)."""
        key = _key(graph)
        bucket = self._buckets.setdefault(key, [])
        if any(nx.is_isomorphic(graph, other) for other in bucket):
            return False
        bucket.append(graph)
        return True


@dataclass(frozen=True)
class UniqueNovelValid:
    """Fractions over all N generated graphs.

    ``valid``: valid; ``unique``: not isomorphic to an earlier one; ``novel``: not isomorphic to
    a training graph; ``unique_novel``: both (DiGress ``frac_unique_non_isomorphic``); ``vun``:
    unique, novel and valid (DiGress ``frac_unique_non_isomorphic_valid``). ``valid`` and
    ``vun`` are None without a validity check.
    """

    valid: float | None
    unique: float
    novel: float
    unique_novel: float
    vun: float | None

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)


def fraction_unique(graphs: Sequence[nx.Graph]) -> float:
    """Fraction of graphs not isomorphic to an earlier one."""
    index = IsomorphismIndex()
    return sum(index.add(g) for g in graphs) / len(graphs)


def fraction_novel(graphs: Sequence[nx.Graph], train: Sequence[nx.Graph]) -> float:
    """Fraction of graphs isomorphic to no training graph."""
    index = IsomorphismIndex(train)
    return sum(not index.contains(g) for g in graphs) / len(graphs)


def unique_novel_valid(
    generated: Sequence[nx.Graph],
    train: Sequence[nx.Graph],
    is_valid: Callable[[nx.Graph], bool] | None = None,
) -> UniqueNovelValid:
    """Validity, uniqueness, novelty and V.U.N. of `generated` against `train`."""
    if not generated:
        raise ConfigError("generated: expected at least one graph, got none")
    train_index, seen = IsomorphismIndex(train), IsomorphismIndex()
    n = len(generated)
    unique = unique_novel = vun = novel = valid = 0
    for graph in generated:
        is_novel = not train_index.contains(graph)
        is_ok = is_valid(graph) if is_valid is not None else False
        novel += is_novel
        valid += is_ok
        if seen.add(graph):
            unique += 1
            unique_novel += is_novel
            vun += is_novel and is_ok
    return UniqueNovelValid(
        valid=valid / n if is_valid is not None else None,
        unique=unique / n,
        novel=novel / n,
        unique_novel=unique_novel / n,
        vun=vun / n if is_valid is not None else None,
    )
