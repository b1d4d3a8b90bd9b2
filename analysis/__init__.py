"""Analysis of cosim result files: load, KPIs, figures, HTML report, regression check.

>>> import analysis
>>> result = analysis.load("results/run.h5")          # doctest: +SKIP
>>> values = analysis.kpis(result)                     # doctest: +SKIP
>>> values["grid_vm_max_pu"].value                     # doctest: +SKIP
"""

from analysis.errors import AnalysisError, BaselineError, ResultFileError
from analysis.io import LAYOUT_VERSION, Result, load
from analysis.kpis import REGISTRY, KpiValue, household_kpis_by_class, kpis
from analysis.report import build_report

__all__ = [
    "AnalysisError",
    "BaselineError",
    "LAYOUT_VERSION",
    "REGISTRY",
    "KpiValue",
    "Result",
    "ResultFileError",
    "build_report",
    "household_kpis_by_class",
    "kpis",
    "load",
]
