"""Registries of user code (simulators.common.plugins) and the message wire form."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from simulators.common import messages as msgs
from simulators.common.plugins import PluginError, check_callable, load_reference, registered, resolve


def _adapt(obj):
    problem = check_callable(obj, 2, "(orders, ctx)")
    if problem:
        raise PluginError(problem)
    return obj


def _resolve(value):
    return resolve(value, builtins={"a": 1, "b": 2}, group="cosim.test_plugins", kind="thing", adapt=_adapt)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module outside the repository, importable as ``usermod``."""
    (tmp_path / "usermod.py").write_text(textwrap.dedent("""
        def two(orders, ctx):
            return "two"
        def one(orders):
            return "one"
        def kw_only(orders, ctx, *, extra):
            return "kw"
        def star(*args):
            return "star"
        NOT_CALLABLE = 3
    """))
    (tmp_path / "brokenmod.py").write_text("import does_not_exist_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("usermod", "brokenmod"):
        sys.modules.pop(name, None)


def test_builtin_names_resolve_to_their_objects():
    assert _resolve("a") == 1


def test_unknown_name_lists_the_allowed_ones_on_one_line():
    with pytest.raises(PluginError) as exc:
        _resolve("nope")
    text = str(exc.value)
    assert "\n" not in text and "'nope'" in text and "allowed: a, b" in text and "module:function" in text


def test_reference_imports_a_module_outside_the_repository(user_module):
    assert _resolve("usermod:two")([], None) == "two"
    assert _resolve("usermod:star")([], None) == "star"  # *args accepts two


@pytest.mark.parametrize("ref, fragment", [
    ("usermod:one", "wrong signature one(orders)"),
    ("usermod:kw_only", "wrong signature kw_only(orders, ctx, *, extra)"),
    ("usermod:NOT_CALLABLE", "is a int, not a function"),
    ("usermod:missing", "has no attribute 'missing'"),
    ("brokenmod:fn", "does not import (ModuleNotFoundError"),
    ("no_such_module_xyz:fn", "does not import"),
    ("a:b:c", "not a reference of the form"),
])
def test_bad_references_are_one_line_errors(user_module, ref, fragment):
    with pytest.raises(PluginError) as exc:
        _resolve(ref)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


def test_a_plain_name_is_never_imported(tmp_path, monkeypatch):
    """Only 'module:attr' values import: a plain module name is looked up as a registry name."""
    (tmp_path / "plainmod_never_imported.py").write_text("raise SystemExit('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="unknown thing 'plainmod_never_imported'"):
        _resolve("plainmod_never_imported")
    assert "plainmod_never_imported" not in sys.modules


def test_entry_points_of_an_installed_distribution(tmp_path, monkeypatch):
    """A distribution's entry point (its dist-info on sys.path, as pip installs it) is found by name."""
    (tmp_path / "epmod.py").write_text("def clear(orders, ctx):\n    return 'ep'\n")
    info = tmp_path / "cosim_test_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cosim-test-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[cosim.test_plugins]\nmine = epmod:clear\nbroken = epmod:nothing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "epmod", raising=False)
    assert set(registered("cosim.test_plugins")) == {"mine", "broken"}
    assert _resolve("mine")(None, None) == "ep"
    with pytest.raises(PluginError, match="allowed: a, b, broken, mine"):
        _resolve("other")
    with pytest.raises(PluginError, match="entry point 'broken' of group 'cosim.test_plugins'"):
        _resolve("broken")


def test_load_reference_keeps_attribute_paths(user_module):
    assert load_reference("usermod:two.__name__") == "two"


def test_message_wire_form_round_trips():
    m = msgs.empty(2)
    m["kind"] = [msgs.Kind.BID, msgs.Kind.OFFER]
    m["quantity_mwh"] = [0.01, 0.02]
    m["tag"] = [2**64 - 1, 0]  # uint64 beyond int64 survives
    rows = msgs.to_records(m)
    assert rows[0]["kind"] == 1 and rows[1]["quantity_mwh"] == 0.02 and isinstance(rows[0]["tag"], int)
    back = msgs.from_records(rows)
    assert back.dtype == msgs.MESSAGE_DTYPE and back.tobytes() == m.tobytes()
    partial = msgs.from_records([{"kind": 1, "quantity_mwh": 0.5}])
    assert partial["arrival_ms"][0] == -1 and partial["ref_id"][0] == -1  # defaults of empty()


@pytest.mark.parametrize("rows, fragment", [
    ([{"colour": 1}], "message 0: unknown field 'colour'"),
    ([[1, 2]], "message 0: expected an object"),
    ([{"kind": "bid"}], "message 0.kind: does not fit int8"),
])
def test_bad_wire_messages_name_row_and_field(rows, fragment):
    with pytest.raises(ValueError, match=fragment.replace(".", r"\.")):
        msgs.from_records(rows)


def test_empty_wire_batches():
    assert msgs.to_records(None) == [] and msgs.to_records(msgs.empty(0)) == []
    assert len(msgs.from_records(None)) == 0 and len(msgs.from_records([])) == 0
    assert np.array_equal(msgs.from_records(msgs.empty(1)), msgs.empty(1))
