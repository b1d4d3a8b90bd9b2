"""The radial (topological, lossless) linear model: downstream flows, LinDistFlow, areas.

Part of the network core. Used by the coordinator (flows, voltages and
areas of its TSO-DSO schemes) and by :mod:`.linear` (its topological PTDF is
this model's downstream matrix ``A``). Unlike :mod:`.linear` it needs no
operating point: flows follow from topology, voltages from resistances.

Flows
-----
Lossless DC-like model on the radial parts of the grid. A branch that is a
*bridge* of the in-service graph (removing it splits the grid) carries exactly
the sum of the net consumption of the buses beyond it, so

    flow_b = sum_{i downstream of b} p_i            [MW, consumer reference]

is exact up to losses and reactive power. Parallel branches between the same
two buses form one group (flow shared by rating). Branches inside meshes are
not monitored (copper plate); the AC check of every branch comes from the
grid simulator's series. ``A`` is the sparse [n_group, n_bus] 0/1 matrix of
"bus i is downstream of group b", built by breadth-first search from the slack
on ``pandapower.topology.create_nxgraph``.

Loading is ``100 * |flow_b| / (power_factor * S_max,b)`` with
``S_max = sqrt(3) * vn_kv * max_i_ka * df * parallel`` for lines and
``sn_mva * parallel`` for transformers.

Voltages (LinDistFlow)
----------------------
Baran & Wu (1989), linearised around 1 pu and neglecting reactive flows
(activations change active power only):

    vm_i = vm_slack - sum_{b on path(slack, i)} r_b * flow_b,
    r_b = R_b [ohm] / vn_kv**2    [pu per MW],

with ``R_b = r_ohm_per_km * length_km / parallel`` for lines and
``vkr_percent / 100 / sn_mva`` [pu per MW] for transformers. When the grid's
last ``vm_pu`` is known it anchors the base point and only the change is taken
from the sensitivities.

Areas
-----
An area is everything below one transformer (its PCC); ``auto`` picks the
transformers of the deepest transformer level (MV/LV of an MV+LV grid, HV/MV of
an HV+MV grid). Nested areas: a bus belongs to the nearest area transformer
above it. Buses under no area transformer form the area ``rest`` whose PCC is
the slack.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import AreaError, GridTopologyError

log = logging.getLogger(__name__)


#: Up to this many areas a loop over areas is faster than one batched sparse
#: product (measured: 0.34 vs 0.43 ms for one area; 9 vs 0.6 ms for 111 areas).
_FEW_AREAS = 8


@dataclass
class LinearGrid:
    """Linear sensitivities of a (partly) radial pandapower net.

    Attributes
    ----------
    bus_ids : numpy.ndarray
        pandapower bus indices in ``net.bus.index`` order (position = column of A).
    A : scipy.sparse.csr_matrix
        [n_group, n_bus] 1 where the bus lies downstream of the branch group.
    r_pu_per_mw : numpy.ndarray
        [n_group] voltage drop per MW of flow [pu/MW].
    s_max_mva : numpy.ndarray
        [n_group] rating of the group [MVA].
    group_elements : list[list[tuple[str, int]]]
        pandapower elements ("line"/"trafo", index) of each group.
    group_area : numpy.ndarray
        [n_group] area of each group (-1: above every area).
    bus_area : numpy.ndarray
        [n_bus] area of each bus (-1: not supplied, e.g. out of service).
    in_tree : numpy.ndarray
        [n_bus] bool, bus supplied from the slack.
    vm_slack_pu : float
        Voltage set point of the slack [pu].
    area_labels : list[str]
        "trafo <idx>" per area, "rest" last if present.
    area_trafo : numpy.ndarray
        Trafo index of each area (-1 for "rest").
    area_root : numpy.ndarray
        Group of each area's PCC transformer (-1 for "rest": the slack).
    """

    bus_ids: np.ndarray
    A: sp.csr_matrix
    r_pu_per_mw: np.ndarray
    s_max_mva: np.ndarray
    group_elements: list
    group_area: np.ndarray
    bus_area: np.ndarray
    in_tree: np.ndarray
    vm_slack_pu: float
    area_labels: list
    area_trafo: np.ndarray
    area_root: np.ndarray

    @property
    def n_bus(self) -> int:
        return len(self.bus_ids)

    @property
    def n_area(self) -> int:
        return len(self.area_labels)

    def flows_mw(self, p_mw: np.ndarray) -> np.ndarray:
        """Group flows [MW] (downstream direction positive) for bus consumption ``p_mw`` [MW]."""
        return self.A @ p_mw

    def vm_pu(self, p_mw: np.ndarray, base_p_mw: np.ndarray | None = None,
              base_vm_pu: np.ndarray | None = None) -> np.ndarray:
        """Bus voltages [pu]; anchored on ``base_vm_pu`` at ``base_p_mw`` when given."""
        if base_vm_pu is not None and base_p_mw is not None:
            d = p_mw - base_p_mw
            return base_vm_pu - self.A.T @ (self.r_pu_per_mw * (self.A @ d))
        vm = self.vm_slack_pu - self.A.T @ (self.r_pu_per_mw * (self.A @ p_mw))
        return np.where(self.in_tree, vm, np.nan)

    def pcc_mw(self, p_mw: np.ndarray) -> np.ndarray:
        """Exchange at each area's PCC [MW], consumer reference (import into the area > 0)."""
        if self.n_area <= _FEW_AREAS:
            return np.array([self.pcc_area_mw(p_mw, a) for a in range(self.n_area)])
        # one sparse product for all areas: each row is summed in the same stored
        # order as by pcc_area_mw, so the values are identical
        p_mw = np.asarray(p_mw, dtype=float)
        out = np.empty(self.n_area)
        root = np.asarray(self.area_root)
        has = root >= 0
        if has.any():
            out[has] = self.A[root[has]] @ p_mw
        if not has.all():
            out[~has] = float(p_mw[self.in_tree].sum())
        return out

    def pcc_area_mw(self, p_mw: np.ndarray, a: int) -> float:
        """Exchange at the PCC of area ``a`` [MW], consumer reference."""
        g = self.area_root[a]
        return float((self.A[g] @ p_mw)[0]) if g >= 0 else float(p_mw[self.in_tree].sum())

    @cached_property
    def A_csc(self) -> sp.csc_matrix:
        """:attr:`A` in CSC form (column per bus: the branch groups upstream of it), built once."""
        return self.A.tocsc()

    @cached_property
    def _bus_index(self) -> pd.Index:
        """``bus_ids`` as a pandas Index, its hash table built once (not per call)."""
        return pd.Index(self.bus_ids)

    def bus_positions(self, buses: np.ndarray) -> np.ndarray:
        """Positions of pandapower bus indices (-1 for unknown buses)."""
        return self._bus_index.get_indexer(np.asarray(buses))

    def element_table(self) -> pd.DataFrame:
        """One row per monitored element: element, index, group, area."""
        rows = [(kind, idx, g, int(self.group_area[g]))
                for g, members in enumerate(self.group_elements) for kind, idx in members]
        return pd.DataFrame(rows, columns=["element", "index", "group", "area"])


def _branch_params(net) -> dict[str, tuple[dict, np.ndarray, np.ndarray]]:
    """r [pu/MW] and rating [MVA] of every line and transformer, by element kind.

    Per kind: the element index -> position map and the two arrays. The
    same floating-point operations in the same order as one element at a
    time (``vn ** 2`` as Python's power of each voltage), so the values are
    identical; a loop over ``net.line.loc[idx]`` rows cost about 1 ms per
    branch group (10 s of set-up on a district grid).
    """
    out = {}
    line = net.line
    vn = [float(v) for v in net.bus.vn_kv.reindex(line.from_bus).to_numpy()]
    vn2 = np.array([v**2 for v in vn], dtype=float)
    vn = np.array(vn, dtype=float)
    r = line.r_ohm_per_km.to_numpy() * line.length_km.to_numpy() / line.parallel.to_numpy() / vn2
    s = np.sqrt(3) * vn * line.max_i_ka.to_numpy() * line.df.to_numpy() * line.parallel.to_numpy()
    out["line"] = ({int(i): k for k, i in enumerate(line.index)}, np.asarray(r, float), np.asarray(s, float))
    tr = net.trafo
    r = tr.vkr_percent.to_numpy() / 100.0 / (tr.sn_mva.to_numpy() * tr.parallel.to_numpy())
    s = tr.sn_mva.to_numpy() * tr.parallel.to_numpy()
    out["trafo"] = ({int(i): k for k, i in enumerate(tr.index)}, np.asarray(r, float), np.asarray(s, float))
    return out


def _group_params(params: dict, members: list[tuple[str, int]]) -> tuple[float, float]:
    """Equivalent r [pu/MW] and rating [MVA] of parallel branches (``params``: :func:`_branch_params`)."""
    g_sum, s_sum = 0.0, 0.0
    for kind, idx in members:
        where, r, s = params["line" if kind == "line" else "trafo"]
        k = where[idx]
        g_sum += 1.0 / max(float(r[k]), 1e-9)
        s_sum += float(s[k])
    return 1.0 / g_sum, s_sum


def build_linear_grid(net, areas: str | list[int] = "auto") -> LinearGrid:
    """Build the DSO's linear model and its areas from a pandapower net.

    Parameters
    ----------
    net : pandapowerNet
        The grid (switch states respected, out-of-service elements ignored).
    areas : 'auto' or list of int
        Area transformers (the coordinator's ``coordinator.areas``).

    Raises
    ------
    AreaError
        An area index is not an in-service transformer in the supplied grid.
    GridTopologyError
        No in-service slack.
    """
    import pandapower.topology as top

    bus_ids = net.bus.index.to_numpy()
    n_bus = len(bus_ids)
    pos = {b: i for i, b in enumerate(bus_ids)}
    eg = net.ext_grid[net.ext_grid.in_service]
    if eg.empty:
        raise GridTopologyError("grid: no in-service ext_grid (slack); the DSO model needs one")
    roots = [pos[b] for b in eg.bus.unique()]
    vm_slack = float(eg.vm_pu.iloc[0])

    mg = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False,
                            include_trafo3ws=True, include_impedances=True, multi=True)
    # closed bus-bus switches are zero-impedance: merge their buses into one node
    merged = nx.Graph()
    merged.add_nodes_from(range(n_bus))
    merged.add_edges_from((pos[u], pos[v]) for u, v, key in mg.edges(keys=True) if key[0] == "switch")
    rep = np.arange(n_bus)
    for comp in nx.connected_components(merged):
        rep[list(comp)] = min(comp)
    groups: dict[tuple[int, int], list[tuple[str, int]]] = {}
    simple = nx.Graph()
    simple.add_nodes_from(int(rep[pos[b]]) for b in mg.nodes)
    for u, v, key in mg.edges(keys=True):
        pu, pv = int(rep[pos[u]]), int(rep[pos[v]])
        if pu == pv:
            continue
        simple.add_edge(pu, pv)
        kind, idx = key[0], int(key[1])
        if kind in ("line", "trafo"):
            groups.setdefault((min(pu, pv), max(pu, pv)), []).append((kind, idx))
    # slack buses joined by a virtual node so bridges are counted w.r.t. one root
    root = -1
    roots = sorted({int(rep[r]) for r in roots})
    simple.add_edges_from((root, r) for r in roots)
    bridges = {(min(u, v), max(u, v)) for u, v in nx.bridges(simple, root=root) if u >= 0 and v >= 0}

    parent = np.full(n_bus, -2, dtype=np.int64)
    for r in roots:
        parent[r] = -1
    for u, v in nx.bfs_edges(simple, root):
        if v >= 0 and parent[v] == -2:
            parent[v] = u
    in_tree = parent[rep] != -2
    # groups monitored: bridges made of lines/trafos (parallel branches form one group)
    keys = [k for k in groups if k in bridges]
    gid = {k: g for g, k in enumerate(keys)}
    edge_group = np.full(n_bus, -1, dtype=np.int64)  # group of the edge node -> parent
    for (a, b), g in gid.items():
        child = a if parent[a] == b else b
        edge_group[child] = g
    rows, cols = [], []
    node = np.flatnonzero(in_tree)
    cur = rep[node]
    while cur.size:
        g = edge_group[cur]
        m = g >= 0
        rows.append(g[m])
        cols.append(node[m])
        nxt = parent[cur]
        keep = nxt >= 0
        cur, node = nxt[keep], node[keep]
    rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    A = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(keys), n_bus))
    branch = _branch_params(net)
    params = [_group_params(branch, groups[k]) for k in keys]
    r = np.array([p[0] for p in params]) if params else np.zeros(0)
    s = np.array([p[1] for p in params]) if params else np.zeros(0)
    members = [groups[k] for k in keys]

    trafo_group = {idx: g for g, mem in enumerate(members) for kind, idx in mem if kind == "trafo"}
    area_groups = _select_areas(areas, trafo_group, edge_group, parent, rep)
    bus_area = np.where(in_tree, -1, -2)
    order = sorted(area_groups, key=lambda g: -A[g].nnz)  # big first, nested areas overwrite
    labels, area_trafo = [], []
    for a, g in enumerate(order):
        tr = sorted(idx for kind, idx in members[g] if kind == "trafo")
        labels.append("trafo " + ",".join(str(t) for t in tr))
        area_trafo.append(tr[0])
        bus_area[A[g].indices] = a
    area_root = list(order)
    rest = np.flatnonzero(bus_area == -1)
    if np.setdiff1d(rest, np.flatnonzero(np.isin(rep, roots))).size:
        labels.append("rest")
        area_trafo.append(-1)
        area_root.append(-1)
        bus_area[rest] = len(labels) - 1
    bus_area[bus_area == -2] = -1
    child = np.full(len(keys), -1, dtype=np.int64)
    child[edge_group[edge_group >= 0]] = np.flatnonzero(edge_group >= 0)
    group_area = bus_area[child] if len(keys) else np.zeros(0, np.int64)
    log.info("linear DSO model: %d buses, %d monitored branch groups, %d areas",
             n_bus, len(keys), len(labels))
    return LinearGrid(bus_ids, A, r, s, members, group_area, bus_area, in_tree, vm_slack,
                      labels, np.array(area_trafo, dtype=np.int64), np.array(area_root, dtype=np.int64))


def _select_areas(areas, trafo_group, edge_group, parent, rep) -> list[int]:
    """Branch groups of the area transformers."""
    if areas == "auto":
        if not trafo_group:
            return []
        is_trafo_group = np.zeros(max(trafo_group.values()) + 1, dtype=bool)
        is_trafo_group[list(trafo_group.values())] = True
        depth = {}
        for g in set(trafo_group.values()):
            d, cur = 0, int(np.flatnonzero(edge_group == g)[0])
            while cur >= 0:  # count transformer levels from the slack down to this one
                gg = edge_group[cur]
                d += int(gg >= 0 and gg < len(is_trafo_group) and is_trafo_group[gg])
                cur = parent[cur]
            depth[g] = d
        dmax = max(depth.values())
        return sorted(g for g, d in depth.items() if d == dmax)
    bad = [t for t in areas if t not in trafo_group]
    if bad:
        known = sorted(trafo_group)
        raise AreaError(
            f"areas: {bad} match no in-service radial transformer of the grid; "
            f"allowed trafo indices: {known[:50]}{' ...' if len(known) > 50 else ''} or 'auto'"
        )
    return sorted({trafo_group[t] for t in areas})
