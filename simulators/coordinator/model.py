"""The coordinator model: offer book, DSO forecast, one clearing per interval.

Pure numpy/pandas (no mosaik). :class:`Coordinator` keeps the latest
flexibility offer per agent and interval, the DSO's persistence forecast of
the bus consumption and runs the configured scheme
(:mod:`simulators.coordinator.schemes`) once per interval. The DSO forecast
for interval ``k`` is the last per-bus consumption received (persistence);
before the first one arrives, the net's static element values (loads minus
sgens, times ``scaling``, consumer reference) stand in.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from simulators.common import messages as msgs
from simulators.common.network.traffic_light import traffic_light

from .network import build_linear_grid
from .schema import CoordinatorConfig
from .schemes import BRP, DSO, EPS_MW, TSO, GridState, Offers, merit_order, solve_lp
from .tso import GERMAN_PEAK_LOAD_MW, TsoInput, ar1_needs, run_tso_process

log = logging.getLogger(__name__)

ACTIVATION_DTYPE = np.dtype([
    ("interval_s", np.int64), ("agent", np.int32), ("area", np.int32), ("buyer", np.int8),
    ("side", np.int8), ("quantity_mwh", np.float64), ("price_eur_per_mwh", np.float64),
    ("offer_msg_id", np.int64),
])


def count_double_activations(log_ref_ids: np.ndarray) -> int:
    """Independent GOPACS check: activations whose offer id occurs more than once.

    Offer ``msg_id`` values are unique per run, so a repeated id in the
    activation log is a second activation of the same offer.
    """
    if not len(log_ref_ids):
        return 0
    _, counts = np.unique(np.asarray(log_ref_ids), return_counts=True)
    return int((counts[counts > 1] - 1).sum())


def static_injection(net, bus_ids: np.ndarray) -> np.ndarray:
    """Per-bus consumption of the net's static element values [MW] (consumer reference)."""
    p = pd.Series(0.0, index=bus_ids)
    ld = net.load[net.load.in_service]
    p = p.add((ld.p_mw * ld.scaling).groupby(ld.bus).sum(), fill_value=0.0)
    sg = net.sgen[net.sgen.in_service]
    p = p.sub((sg.p_mw * sg.scaling).groupby(sg.bus).sum(), fill_value=0.0)
    return p.reindex(bus_ids).fillna(0.0).to_numpy()


class Coordinator:
    """TSO–DSO coordinator over a run.

    Parameters
    ----------
    config : CoordinatorConfig
        Validated scenario section.
    net : pandapowerNet
        The grid.
    start : str
        Run start (ISO 8601).
    step_s, n_steps : int
        Interval length [s] and number of intervals.
    seed : int
        Seed of this simulator's generator.
    """

    def __init__(self, config: CoordinatorConfig, net, start: str, step_s: int, n_steps: int, seed: int):
        self.cfg = config
        self.step_s, self.n_steps = int(step_s), int(n_steps)
        self.grid = build_linear_grid(net, config.areas)
        self.rng = np.random.default_rng(seed)
        self.base_p = static_injection(net, self.grid.bus_ids)
        self.base_vm: np.ndarray | None = None
        self.ext_grid_p_mw: float | None = None
        area_load = net.load[net.load.in_service]
        pos = self.grid.bus_positions(area_load.bus.to_numpy())
        sup = (pos >= 0) & (self.grid.bus_area[np.maximum(pos, 0)] >= 0)
        t = config.tso
        share = t.area_share if t.area_share is not None else \
            float((area_load.p_mw * area_load.scaling).to_numpy()[sup].sum()) / GERMAN_PEAK_LOAD_MW
        self.tso_need_mw, self.tso_price = run_tso_process(t.source, TsoInput(
            self.rng, pd.Timestamp(start), self.step_s, self.n_steps, share, t.model_dump(mode="json")))
        b = config.brp
        self.brp_need_mw = ar1_needs(self.rng, self.n_steps, self.step_s, mean_mw=b.mean_mw,
                                     sigma_mw=b.sigma_mw, phi_15min=b.phi_15min)
        self.schedule_mw = (None if config.shared_balancing.pcc_schedule_mw is None
                            else np.asarray(config.shared_balancing.pcc_schedule_mw, float))
        if self.schedule_mw is not None and len(self.schedule_mw) != self.grid.n_area:
            from .errors import AreaError
            raise AreaError(
                f"coordinator.shared_balancing.pcc_schedule_mw: {len(self.schedule_mw)} values for "
                f"{self.grid.n_area} areas {self.grid.area_labels}; give one per area"
            )
        self._book: dict[int, list[np.ndarray]] = {}
        # offer ids activated so far and the running count of repeats: the same
        # number count_double_activations gives on the whole log, kept
        # incrementally (re-scanning the log every interval is O(n^2) in time)
        self._activated_ids: set[int] = set()
        self._double_activations = 0
        self._counter = 0

    # ------------------------------------------------------------ inputs
    def add_messages(self, arr: np.ndarray) -> None:
        """Store FLEX_OFFER messages (delivered or not passed through ICT)."""
        if arr is None or not len(arr):
            return
        m = (arr["kind"] == msgs.Kind.FLEX_OFFER) & np.isin(arr["status"], (msgs.Status.PENDING, msgs.Status.DELIVERED))
        for iv in np.unique(arr["interval_s"][m]):
            self._book.setdefault(int(iv), []).append(arr[m & (arr["interval_s"] == iv)])

    def set_forecast(self, bus_p_mw=None, vm_pu=None, ext_grid_p_mw=None) -> None:
        """Persistence forecast basis: last per-bus consumption [MW], voltages [pu], PCC [MW]."""
        if bus_p_mw is not None:
            self.base_p = np.asarray(bus_p_mw, float).copy()
            self.base_vm = None if vm_pu is None else np.asarray(vm_pu, float).copy()
        if ext_grid_p_mw is not None:
            self.ext_grid_p_mw = float(np.sum(ext_grid_p_mw))

    def offers_for(self, interval_s: int) -> Offers:
        """Latest offer per agent for an interval (later send_ms, then larger msg_id, wins)."""
        arrs = self._book.pop(int(interval_s), [])
        for iv in [iv for iv in self._book if iv < interval_s]:
            del self._book[iv]
        a = msgs.concat(arrs)
        if len(a):
            o = np.lexsort((a["msg_id"], a["send_ms"], a["sender"]))
            a = a[o]
            last = np.r_[a["sender"][1:] != a["sender"][:-1], True]
            a = a[last]
        pos = self.grid.bus_positions(a["bus"]) if len(a) else np.zeros(0, np.int64)
        ok = pos >= 0
        if (~ok).any():
            log.warning("%d flexibility offers for interval %d name no bus of the grid; ignored",
                        int((~ok).sum()), interval_s)
        a, pos = a[ok], pos[ok]
        to_mw = 3600.0 / self.step_s
        return Offers(a["msg_id"].copy(), a["sender"].copy(), pos, self.grid.bus_area[pos],
                      np.maximum(a["quantity_mwh"], 0) * to_mw, np.maximum(a["quantity2_mwh"], 0) * to_mw,
                      a["price_eur_per_mwh"].astype(float))

    # ------------------------------------------------------------ clearing
    def clear(self, k: int, offers: Offers) -> dict:
        """Run the scheme for interval ``k``; return activations and KPIs (see :meth:`run_interval`)."""
        cfg, g = self.cfg, self.grid
        state = GridState(g, cfg.dso, self.base_p, self.base_vm)
        light = traffic_light(state.vm, state.loading_percent(), g.bus_area, g.group_area, g.n_area, cfg.dso)
        gate = light if cfg.uses_traffic_light() else None
        n = len(offers)
        x, buyer, used = np.zeros(n), np.zeros(n, np.int8), np.zeros(n, bool)
        need, p_tso = float(self.tso_need_mw[k]), float(self.tso_price[k])
        blocked = 0
        before = state.violations()

        def take(xn, who):
            m = (np.abs(xn) > EPS_MW) & ~used
            x[m], buyer[m] = xn[m], who
            used[m] = True
            return m

        def dso_clear():
            vb, vv = state.violations()
            if n and (vb.any() or vv.any()):
                avail = ~used & (offers.price <= cfg.dso.price_eur_per_mwh)
                y, _ = solve_lp(offers, avail, state, cfg.dso.violation_penalty_eur_per_mwh)
                m = take(y, DSO)
                state.apply(offers.bus_pos[m], -y[m])

        s = cfg.scheme
        if s == "centralized":
            xt, blocked = merit_order(offers, used, state, need, p_tso, check=False, light=gate)
            take(xt, TSO)
        elif s == "local":
            dso_clear()
            before = state.violations()
            xt, blocked = merit_order(offers, used, state, need, p_tso, check=True, light=gate)
            take(xt, TSO)
        elif s == "shared_balancing":
            dso_clear()
            self._balance_pcc(offers, used, state, take)
        elif s == "common":
            y, met = solve_lp(offers, ~used, state, cfg.dso.violation_penalty_eur_per_mwh, need, p_tso)
            self._label_common(offers, y, need, met, take)
            state.apply(offers.bus_pos, -y)
        else:  # integrated
            bids = [(cfg.dso.price_eur_per_mwh, 0, DSO), (p_tso, 1, TSO), (cfg.brp.price_eur_per_mwh, 2, BRP)]
            for price, _, who in sorted(bids, key=lambda b: (-b[0], b[1])):  # tie: DSO > TSO > BRP
                if who == DSO:
                    dso_clear()
                elif who == TSO:
                    before = state.violations()
                    xt, blocked = merit_order(offers, used, state, need, p_tso, check=True, light=gate)
                    take(xt, TSO)
                    after_tso = state.violations()
                else:
                    xb, _ = merit_order(offers, used, state, float(self.brp_need_mw[k]),
                                        cfg.brp.price_eur_per_mwh, check=True, light=None)
                    take(xb, BRP)
        after = after_tso if s == "integrated" else state.violations()
        caused = int(np.sum(after[0] > before[0] + 1e-7) + np.sum(after[1] > before[1] + 1e-7)) \
            if s != "shared_balancing" else 0
        tso_x = np.where(buyer == TSO, x, 0.0)
        met = float(np.sum(np.abs(tso_x)))
        return dict(x=x, buyer=buyer, light=light, blocked=blocked, caused=caused, need=need,
                    price=p_tso, met=met, state=state, tso_x=tso_x)

    def _balance_pcc(self, offers, used, state, take) -> None:
        """Shared balancing: hold each area's PCC exchange within schedule +- band."""
        g, band = self.grid, self.cfg.shared_balancing.pcc_band_mw
        if self.schedule_mw is None:
            self.schedule_mw = g.pcc_mw(state.p)
            log.info("shared balancing: PCC schedule fixed at the first forecast %s MW", self.schedule_mw)
        for a in range(g.n_area - 1, -1, -1):  # smallest (deepest) areas first, 'rest' last
            pcc = g.pcc_area_mw(state.p, a)
            dev = pcc - self.schedule_mw[a]
            need = dev - band if dev > band else (dev + band if dev < -band else 0.0)  # > 0: reduce import
            xa, _ = merit_order(offers, used, state, need, np.inf, check=True, light=None,
                                areas=np.array([a]))
            take(xa, DSO)

    @staticmethod
    def _label_common(offers, y, need, met, take) -> None:
        """Common scheme: the first ``met`` MW of need-direction activations (merit order) are the TSO's."""
        d = np.sign(need)
        idx = np.flatnonzero(np.abs(y) > EPS_MW)
        tso_dir = idx[np.sign(y[idx]) == d] if d != 0 else idx[:0]
        tso_dir = tso_dir[np.lexsort((offers.msg_id[tso_dir], offers.price[tso_dir]))]
        before = np.cumsum(np.abs(y[tso_dir])) - np.abs(y[tso_dir])
        is_tso = tso_dir[before < met - 1e-9]
        yt = np.zeros_like(y)
        yt[is_tso] = y[is_tso]
        take(yt, TSO)
        take(y, DSO)

    def run_interval(self, k: int, t_ms: int) -> tuple[np.ndarray, dict, np.ndarray]:
        """Clear interval ``k`` at ``t_ms``.

        Returns
        -------
        messages : numpy.ndarray
            ACTIVATION messages (MESSAGE_DTYPE).
        series : dict
            Values of the persistent output attributes.
        events : numpy.ndarray
            Activation records (ACTIVATION_DTYPE).
        """
        interval_s = k * self.step_s
        offers = self.offers_for(interval_s)
        r = self.clear(k, offers)
        x, buyer, g = r["x"], r["buyer"], self.grid
        act = np.flatnonzero(np.abs(x) > EPS_MW)
        h = self.step_s / 3600.0
        m = msgs.empty(len(act))
        m["msg_id"] = msgs.make_ids(np.full(len(act), msgs.COORDINATOR), self._counter + np.arange(len(act)))
        self._counter += len(act)
        m["kind"], m["sender"] = msgs.Kind.ACTIVATION, msgs.COORDINATOR
        m["receiver"], m["bus"] = offers.agent[act], g.bus_ids[offers.bus_pos[act]]
        m["interval_s"], m["side"] = interval_s, np.where(x[act] > 0, -1, 1)
        m["quantity_mwh"], m["price_eur_per_mwh"] = np.abs(x[act]) * h, offers.price[act]
        m["send_ms"], m["ref_id"] = t_ms, offers.msg_id[act]
        ev = np.zeros(len(act), ACTIVATION_DTYPE)
        ev["interval_s"], ev["agent"], ev["area"], ev["buyer"] = interval_s, offers.agent[act], offers.area[act], buyer[act]
        ev["side"], ev["quantity_mwh"] = m["side"], m["quantity_mwh"]
        ev["price_eur_per_mwh"], ev["offer_msg_id"] = m["price_eur_per_mwh"], m["ref_id"]
        for offer_id in ev["offer_msg_id"].tolist():
            if offer_id in self._activated_ids:
                self._double_activations += 1
            else:
                self._activated_ids.add(offer_id)
        area = np.maximum(offers.area, 0)
        cost = np.abs(x) * h * offers.price
        vb, vv = r["state"].violations()
        series = {
            "tso_need_mw": r["need"], "tso_price_eur_per_mwh": r["price"],
            "tso_activated_mw": np.bincount(area, weights=r["tso_x"], minlength=g.n_area),
            "activated_mw": np.bincount(area, weights=x, minlength=g.n_area),
            "tso_need_met_mw": r["met"],
            "tso_need_met_share": r["met"] / abs(r["need"]) if abs(r["need"]) > EPS_MW else np.nan,
            "dso_violations": r["caused"],
            "dso_violations_after": int((vb > 1e-7).sum() + (vv > 1e-7).sum()),
            "blocked_by_traffic_light": r["blocked"],
            "double_activations": self._double_activations,
            "traffic_light": r["light"].astype(np.int8),
            "pcc_p_mw": g.pcc_mw(r["state"].p),
            "cost_tso_eur": float(cost[buyer == TSO].sum()),
            "cost_dso_eur": float(cost[buyer == DSO].sum()),
            "cost_brp_eur": float(cost[buyer == BRP].sum()),
        }
        return m, series, ev
