"""A grid JSON file cannot run code: every ``_module``/``_class`` is checked first.

pandapower imports the module a JSON object names before it looks at the
class; these files name ``this`` (prints on import), ``subprocess.getoutput``
(a function loaded into ``net.name``) and others. Each must be refused with
one line naming the type, without importing anything, and a net written by
pandapower's own ``to_json`` must still load.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from simulators.common.netdata import GridSpecError, load_net
from simulators.common.safe_json import UnsafeGridFile, check_pandapower_json


@pytest.fixture(scope="module")
def cigre_doc():
    import pandapower as pp
    import pandapower.networks as pn

    return json.loads(pp.to_json(pn.create_cigre_network_lv()))


def _evil(doc: dict, where: str, value) -> str:
    doc = json.loads(json.dumps(doc))
    doc["_object"][where] = value
    return json.dumps(doc)


ATTACKS = {
    "module_this": ("name", {"_module": "this", "_class": "x", "_object": "{}"}, "this.x"),
    "function_getoutput": ("name", {"_module": "subprocess", "_class": "function", "_object": "getoutput"},
                           "subprocess.function"),
    "os_system": ("name", {"_module": "os", "_class": "system", "_object": "echo owned"}, "os.system"),
    "builtins_eval": ("name", {"_module": "builtins", "_class": "eval", "_object": "1"}, "builtins.eval"),
    "controller": ("controller", {"_module": "pandapower.control.controller.const_control",
                                  "_class": "ConstControl", "_object": "{}"}, "ConstControl"),
    "module_only": ("name", {"_module": "this"}, "_class=None"),
    # a DataFrame body whose object cell names a module (pandapower decodes cells with the same hook)
    "cell_in_frame": ("extra", {"_module": "pandas.core.frame", "_class": "DataFrame", "orient": "split",
                                "_object": json.dumps({"columns": ["a"], "index": [0], "data": [[
                                    {"_module": "this", "_class": "y", "_object": "{}"}]]})}, "this.y"),
    # the same with the key written as a JSON escape inside the nested text
    "escaped_key_in_frame": ("extra", {"_module": "pandas", "_class": "DataFrame", "orient": "split",
                                       "_object": '{"columns":["a"],"index":[0],"data":[[{"\\u005fmodule":"this",'
                                                  '"_class":"z","_object":"{}"}]]}'}, "this.z"),
    "frame_reads_a_file": ("extra", {"_module": "pandas", "_class": "DataFrame", "orient": "split",
                                     "_object": "/etc/hosts.json"}, "must hold the table as JSON text"),
}


def test_pandapower_own_output_passes(cigre_doc, tmp_path):
    path = tmp_path / "cigre.json"
    path.write_text(json.dumps(cigre_doc))
    check_pandapower_json(path.read_text())
    net = load_net({"pandapower_json": str(path)})
    assert len(net.bus) == 44  # CIGRE LV benchmark: 44 buses (pandapower.networks docstring)


@pytest.mark.parametrize("case", sorted(ATTACKS))
def test_crafted_type_tag_is_refused(cigre_doc, tmp_path, capfd, case):
    key, value, fragment = ATTACKS[case]
    path = tmp_path / f"{case}.json"
    path.write_text(_evil(cigre_doc, key, value))
    with pytest.raises(GridSpecError, match="grid.pandapower_json") as info:
        load_net({"pandapower_json": str(path)})
    assert fragment in str(info.value) and "\n" not in str(info.value)
    out, err = capfd.readouterr()
    assert "Beautiful is better" not in out + err  # `import this` never ran


def test_repeated_key_is_refused():
    with pytest.raises(UnsafeGridFile, match="repeated key '_module'"):
        check_pandapower_json('{"_module": "pandapower.auxiliary", "_class": "pandapowerNet", "_object": {}, '
                              '"_module": "os"}')


def test_cli_refuses_with_exit_2_and_one_line(cigre_doc, tmp_path):
    grid = tmp_path / "net.json"
    grid.write_text(_evil(cigre_doc, "name", ATTACKS["function_getoutput"][1]))
    sc = tmp_path / "s.yaml"
    sc.write_text(f"grid: {{pandapower_json: {grid}}}\nduration: 1h\n")
    proc = subprocess.run([sys.executable, "-m", "cosim.cli", "run", str(sc), "-q", "-o", str(tmp_path / "o.h5")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: grid.pandapower_json:"), proc.stderr
    assert "subprocess.function is not allowed" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "s.yaml"]
