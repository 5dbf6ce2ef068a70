"""The rule-lineage graph: which rules generalize, supersede or derive from which."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from eudoxus.memory.records import Rule, RuleEdge

if TYPE_CHECKING:  # networkx is imported only when a graph is actually built
    import networkx as nx


def lineage_graph(rules: Iterable[Rule], edges: Iterable[RuleEdge]) -> nx.DiGraph:
    """A directed graph with one node per rule (attributes from the rule) and one edge per link."""
    import networkx as nx

    graph = nx.DiGraph()
    for rule in rules:
        graph.add_node(rule.rule_id, statement=rule.statement, family=rule.family,
                       status=rule.status, kind=rule.kind)
    for edge in edges:
        graph.add_edge(edge.src_rule_id, edge.dst_rule_id, relation=edge.relation)
    return graph
