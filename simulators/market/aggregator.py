"""Aggregator: pool household flexibility headroom into LFM profiles.

Households report their headroom with ``Kind.FLEX_OFFER`` messages
(``quantity_mwh`` upward, ``quantity2_mwh`` downward energy for the interval
``interval_s``, ``price_eur_per_mwh`` their cost). The aggregator

1. collects it into arrays ``up_mw, down_mw [n_h, T]`` (:func:`headroom_from_messages`),
2. bundles members per (aggregator, bus), cheapest first, into profiles of at
   most ``members_per_profile`` households with one price per profile: the
   highest member cost in the bundle, so every member is paid at least its
   cost under pay-as-bid (:func:`build_profiles`); a profile never offers more
   than the sum of its members' headroom,
3. after activation splits a profile's MW over its members pro rata to their
   headroom in the activated direction, so each member stays within its own
   limits (:func:`disaggregate`), and
4. measures delivery per profile from the members' metered response and
   records the shortfall (:func:`profile_delivery`).

Bundling by bus keeps one location per profile, which the LFM needs for its
location effectiveness. Options (crp, crp2) carry a reservation price of
``reservation_share`` times the activation price; the reviews give no figure,
so the default 0.2 is a documented assumption.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from simulators.common.messages import Kind

from .lfm import CRP2, PRODUCTS, FlexProfiles

logger = logging.getLogger(__name__)


def headroom_from_messages(messages: np.ndarray, n_households: int, start_s: int,
                           interval_s: int, n_intervals: int
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Headroom arrays from FLEX_OFFER messages.

    Parameters
    ----------
    messages : ndarray of MESSAGE_DTYPE
        Any messages; only ``Kind.FLEX_OFFER`` from households
        (``0 <= sender < n_households``) inside the horizon are used; a later
        message for the same household and interval replaces an earlier one.
    n_households : int
    start_s, interval_s : int
        Horizon start and interval length [s].
    n_intervals : int
        Horizon length T.

    Returns
    -------
    up_mw, down_mw : ndarray [n_households, T]
        Upward / downward headroom [MW].
    cost_eur_per_mwh : ndarray [n_households]
        Each household's latest offered price [EUR/MWh] (0 if none).
    """
    dt_h = interval_s / 3600.0
    m = messages[(messages["kind"] == Kind.FLEX_OFFER) & (messages["sender"] >= 0)
                 & (messages["sender"] < n_households)]
    t = (m["interval_s"] - start_s) // interval_s
    m, t = m[(t >= 0) & (t < n_intervals)], t[(t >= 0) & (t < n_intervals)]
    order = np.argsort(m["send_ms"], kind="stable")  # later messages overwrite
    m, t = m[order], t[order]
    up = np.zeros((n_households, n_intervals))
    dn = np.zeros((n_households, n_intervals))
    cost = np.zeros(n_households)
    up[m["sender"], t] = np.maximum(m["quantity_mwh"], 0.0) / dt_h
    dn[m["sender"], t] = np.maximum(m["quantity2_mwh"], 0.0) / dt_h
    cost[m["sender"]] = m["price_eur_per_mwh"]
    return up, dn, cost


def build_profiles(up_mw: np.ndarray, down_mw: np.ndarray, cost_eur_per_mwh: np.ndarray,
                   bus: np.ndarray, aggregator: np.ndarray, *, product: str = "srp",
                   members_per_profile: int = 10, reservation_share: float = 0.2
                   ) -> tuple[FlexProfiles, sp.csr_matrix]:
    """Bundle members' headroom into profiles.

    Parameters
    ----------
    up_mw, down_mw : ndarray [n_h, T]
        Member headroom [MW], non-negative.
    cost_eur_per_mwh : ndarray [n_h]
        Member cost [EUR/MWh].
    bus, aggregator : ndarray[int] [n_h]
        pandapower bus and aggregator id of each member (-1: not aggregated).
    product : {"srp", "crp", "crp2"}
        srp/crp: one upward and one downward profile per bundle (an exclusive
        pair); crp2: one bi-directional profile per bundle.
    members_per_profile : int
        Bundle size.
    reservation_share : float
        Reservation price of options as a share of the activation price [-].

    Returns
    -------
    profiles : FlexProfiles
    membership : scipy.sparse.csr_matrix [P, n_h]
        1 where the household belongs to the profile.
    """
    code = PRODUCTS.index(product)
    n_h = len(bus)
    idx = np.flatnonzero(aggregator >= 0)
    # sort by (aggregator, bus, cost): bundles are consecutive runs
    idx = idx[np.lexsort((cost_eur_per_mwh[idx], bus[idx], aggregator[idx]))]
    key = np.stack([aggregator[idx], bus[idx]], axis=1)
    new_group = np.r_[True, (key[1:] != key[:-1]).any(axis=1)] if len(idx) else np.zeros(0, bool)
    grp = np.cumsum(new_group) - 1
    first = np.flatnonzero(new_group)
    rank = np.arange(len(idx)) - first[grp] if len(idx) else np.zeros(0, int)
    bundle = np.cumsum(new_group | (rank % members_per_profile == 0)) - 1
    n_b = int(bundle.max()) + 1 if len(idx) else 0
    m_b = sp.csr_matrix((np.ones(len(idx)), (bundle, idx)), shape=(n_b, n_h))
    up_b, dn_b = m_b @ up_mw, m_b @ down_mw
    price_b = np.full(n_b, -np.inf)
    np.maximum.at(price_b, bundle, cost_eur_per_mwh[idx])
    bus_b = np.zeros(n_b, int)
    agg_b = np.zeros(n_b, int)
    bus_b[bundle], agg_b[bundle] = bus[idx], aggregator[idx]
    if code == CRP2:
        keep = (up_b.sum(axis=1) + dn_b.sum(axis=1)) > 0
        sel = np.flatnonzero(keep)
        prof = FlexProfiles(bus_b[sel], agg_b[sel], np.full(len(sel), code), up_b[sel],
                            dn_b[sel], price_b[sel], reservation_share * price_b[sel],
                            np.full(len(sel), -1))
        return prof, m_b[sel]
    zero = np.zeros_like(up_b)
    upw = np.r_[up_b, zero]
    dnw = np.r_[zero, dn_b]
    keep = (upw.sum(axis=1) + dnw.sum(axis=1)) > 0
    sel = np.flatnonzero(keep)
    src = np.r_[np.arange(n_b), np.arange(n_b)][sel]
    res = reservation_share * price_b[src] if code != 0 else np.zeros(len(sel))
    prof = FlexProfiles(bus_b[src], agg_b[src], np.full(len(sel), code), upw[sel], dnw[sel],
                        price_b[src], res, src)
    return prof, m_b[src]


def disaggregate(activation_mw: np.ndarray, membership: sp.csr_matrix, up_mw: np.ndarray,
                 down_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split profile activations over members pro rata to their headroom.

    Parameters
    ----------
    activation_mw : ndarray [P, T]
        Activation per profile, +up / -down [MW].
    membership : csr_matrix [P, n_h]
    up_mw, down_mw : ndarray [n_h, T]
        Member headroom [MW].

    Returns
    -------
    setpoint_mw : ndarray [n_h, T]
        Flexibility set-point per member, +up (less consumption) / -down [MW];
        ``-down_mw <= setpoint_mw <= up_mw``.
    shortfall_mw : ndarray [P, T]
        Activation the members' headroom cannot cover [MW].
    """
    act_up = np.maximum(activation_mw, 0.0)
    act_dn = np.maximum(-activation_mw, 0.0)
    mt = membership.T.tocsr()
    out = np.zeros_like(up_mw)
    short = np.zeros_like(activation_mw)
    for act, head, sign in ((act_up, up_mw, 1.0), (act_dn, down_mw, -1.0)):
        pool = membership @ head  # [P, T]
        frac = np.divide(np.minimum(act, pool), pool, out=np.zeros_like(act), where=pool > 0)
        out += sign * head * (mt @ frac)  # a member belongs to one profile per direction
        short += act - np.minimum(act, pool)
    return out, short


def profile_delivery(member_delivered_mw: np.ndarray, membership: sp.csr_matrix,
                     activation_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Delivered flexibility per profile and its shortfall.

    Parameters
    ----------
    member_delivered_mw : ndarray [n_h, T]
        Measured response per member (baseline minus metered consumption),
        +up / -down [MW].
    membership : csr_matrix [P, n_h]
    activation_mw : ndarray [P, T]
        Activated flexibility, +up / -down [MW].

    Returns
    -------
    delivered_mw, shortfall_mw : ndarray [P, T]
        Sum over members, and the activated magnitude not delivered [MW].
    """
    delivered = membership @ member_delivered_mw
    useful = np.clip(delivered * np.sign(activation_mw), 0.0, np.abs(activation_mw))
    return delivered, np.abs(activation_mw) - useful
