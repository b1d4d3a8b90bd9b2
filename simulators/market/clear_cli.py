"""``cosim clear ORDERS.csv --mechanism NAME [--json]``: clear one order book.

CSV columns (header row required, comma separated, extra columns ignored):

============== ======== ===========================================
column         required meaning
============== ======== ===========================================
agent          yes      agent id (integer)
bus            yes      pandapower bus index (integer, -1 if none)
side           yes      ``buy`` or ``sell``
quantity_mwh   yes      energy [MWh], finite, >= 0
price_eur_per_mwh yes   limit price [EUR/MWh], finite
send_ms        no       send/arrival time [ms] (default: row order);
                        the continuous double auction matches in this order
============== ======== ===========================================

The file is UTF-8 (a byte-order mark is allowed); ``agent`` and ``bus``
must fit a 32-bit integer and ``send_ms`` a 64-bit one.

Prices for unmatched volume: ``--retail`` and ``--feed-in`` [EUR/MWh], by
default those of the scenario section ``tariff``
(:class:`simulators.common.tariffs.TariffConfig`); both must be finite.
Bad input prints one line naming the row (1-based data row) and field to
stderr and exits with code 2; nothing is cleared.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys

import numpy as np

from simulators.common.tariffs import TariffConfig
from simulators.market.errors import MarketError, OrderCsvError, UnknownMechanismError
from simulators.market.mechanisms import MECHANISMS, clear, resolve_mechanism
from simulators.market.orders import ClearingContext, make_orders

#: The default tariff (prices of unmatched volume).
_TARIFF = TariffConfig()
REQUIRED = ("agent", "bus", "side", "quantity_mwh", "price_eur_per_mwh")
#: Integer range per column: the order book's dtype (simulators.common.messages.MESSAGE_DTYPE).
INT_RANGE = {"agent": (-2**31, 2**31 - 1), "bus": (-2**31, 2**31 - 1), "send_ms": (-2**63, 2**63 - 1)}


def _int(row: dict, key: str, n: int) -> int:
    text = str(row[key]).strip()
    try:
        v = int(text) if len(text) <= 40 else None
    except (TypeError, ValueError):
        v = None
    if v is None:
        raise OrderCsvError(f"row {n}: field {key}={text[:40]!r} is not an integer")
    lo, hi = INT_RANGE[key]
    if not lo <= v <= hi:
        raise OrderCsvError(f"row {n}: field {key}={text[:40]} is out of range [{lo}, {hi}]")
    return v


def _float(row: dict, key: str, n: int, nonneg: bool = False) -> float:
    try:
        v = float(str(row[key]).strip())
    except (TypeError, ValueError):
        raise OrderCsvError(f"row {n}: field {key}={row[key]!r} is not a number") from None
    if not math.isfinite(v):
        raise OrderCsvError(f"row {n}: field {key}={row[key]!r} must be finite")
    if nonneg and v < 0:
        raise OrderCsvError(f"row {n}: field {key}={v!r} must be >= 0")
    return v


def read_orders_csv(path: str) -> np.ndarray:
    """Parse and validate an order CSV into a MESSAGE_DTYPE order book.

    Raises
    ------
    OrderCsvError
        Naming the first bad row (1-based, header excluded) and field.
    """
    try:
        fh = open(path, newline="", encoding="utf-8-sig")  # -sig: drop a byte-order mark
    except OSError as exc:
        raise OrderCsvError(f"cannot read {path}: {exc.strerror}") from None
    try:
        with fh:
            return _parse(fh)
    except UnicodeDecodeError as exc:
        raise OrderCsvError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except csv.Error as exc:
        raise OrderCsvError(f"not a valid CSV file ({exc})") from None


def _parse(fh) -> np.ndarray:
    """Rows of an open order CSV (see :func:`read_orders_csv`)."""
    reader = csv.DictReader(fh)
    cols = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise OrderCsvError(f"header: missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}")
    has_send = "send_ms" in cols
    rows = []
    for n, row in enumerate(reader, start=1):
        if None in row or any(row[c] is None for c in REQUIRED):
            raise OrderCsvError(f"row {n}: wrong number of fields")
        side = str(row["side"]).strip().lower()
        if side not in ("buy", "sell"):
            raise OrderCsvError(f"row {n}: field side={row['side']!r} must be 'buy' or 'sell'")
        rows.append((
            _int(row, "agent", n), _int(row, "bus", n), 1 if side == "buy" else -1,
            _float(row, "quantity_mwh", n, nonneg=True), _float(row, "price_eur_per_mwh", n),
            _int(row, "send_ms", n) if has_send and str(row.get("send_ms", "")).strip() else n - 1,
        ))
    if not rows:
        return make_orders(np.zeros(0, int), np.zeros(0, int), np.zeros(0), np.zeros(0))
    a = np.array(rows, dtype=object)
    return make_orders(a[:, 0].astype(np.int64), a[:, 2].astype(np.int64), a[:, 3].astype(float),
                       a[:, 4].astype(float), bus=a[:, 1].astype(np.int64), send_ms=a[:, 5].astype(np.int64))


def result_dict(result, mechanism: str) -> dict:
    """JSON-ready summary of a :class:`ClearingResult`."""
    t = result.trades
    price = result.clearing_price_eur_per_mwh
    return {
        "mechanism": mechanism,
        "status": result.status,
        "clearing_price_eur_per_mwh": None if math.isnan(price) else price,
        "traded_mwh": result.traded_mwh,
        "welfare_eur": result.welfare_eur,
        "retail_import_mwh": result.retail_import_mwh,
        "retail_export_mwh": result.retail_export_mwh,
        "trades": [
            {"buyer": int(r["buyer"]), "seller": int(r["seller"]), "quantity_mwh": float(r["quantity_mwh"]),
             "price_eur_per_mwh": float(r["price_eur_per_mwh"]),
             "seller_price_eur_per_mwh": float(r["seller_price_eur_per_mwh"]),
             "buyer_row": int(r["buyer_order"]) + 1, "seller_row": int(r["seller_order"]) + 1}
            for r in t
        ],
    }


def _text(d: dict) -> str:
    p = d["clearing_price_eur_per_mwh"]
    lines = [
        f"mechanism: {d['mechanism']}   status: {d['status']}",
        f"clearing price: {'-' if p is None else f'{p:.4f}'} EUR/MWh   traded: {d['traded_mwh']:.6f} MWh   "
        f"welfare: {d['welfare_eur']:.4f} EUR",
        f"retail import: {d['retail_import_mwh']:.6f} MWh   retail export: {d['retail_export_mwh']:.6f} MWh",
        f"trades: {len(d['trades'])}",
    ]
    lines += [f"  {t['buyer']:>6} <- {t['seller']:<6} {t['quantity_mwh']:.6f} MWh @ {t['price_eur_per_mwh']:.4f}"
              for t in d["trades"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cosim clear``; returns the exit code (0 ok, 2 bad input)."""
    ap = argparse.ArgumentParser(prog="cosim clear", description="Clear one order book from a CSV file.")
    ap.add_argument("orders", help="CSV with columns agent,bus,side,quantity_mwh,price_eur_per_mwh[,send_ms]")
    ap.add_argument("--mechanism", required=True,
                    help=f"one of {', '.join(MECHANISMS)}, an installed entry point or package.module:function")
    ap.add_argument("--retail", type=float, default=_TARIFF.retail_eur_per_mwh, help="retail import price [EUR/MWh]")
    ap.add_argument("--feed-in", type=float, default=_TARIFF.feed_in_eur_per_mwh, help="feed-in price [EUR/MWh]")
    ap.add_argument("--community-price-rule", default="sdr", choices=("sdr", "mid_market"))
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        fn = resolve_mechanism(args.mechanism)
    except UnknownMechanismError as exc:
        print(f"error: --mechanism: {exc}", file=sys.stderr)
        return 2
    if fn is None:
        print(f"error: --mechanism {args.mechanism!r} needs the grid; allowed here: {', '.join(MECHANISMS)}",
              file=sys.stderr)
        return 2
    for flag, value in (("--retail", args.retail), ("--feed-in", args.feed_in)):
        if not math.isfinite(value):
            print(f"error: {flag}: must be a finite price [EUR/MWh]; got {value!r}", file=sys.stderr)
            return 2
    try:
        orders = read_orders_csv(args.orders)
        ctx = ClearingContext(args.retail, args.feed_in, 0, args.community_price_rule)
        res = clear(orders, args.mechanism, ctx)
    except MarketError as exc:
        print(f"error: {args.orders}: {exc}", file=sys.stderr)
        return 2
    d = result_dict(res, args.mechanism)
    sys.stdout.write((json.dumps(d, indent=2) if args.json else _text(d)) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
