"""TensorFlow's two start-up lines are dropped from stderr at import; the rest passes."""

from __future__ import annotations

import sys

from loadbench.harness.child.quiet import NOISE, import_quietly


def test_only_the_known_start_up_lines_are_dropped(tmp_path, monkeypatch, capfd):
    module = tmp_path / "noisy_runtime.py"
    lines = [
        NOISE[0],
        "I0000 00:00:1796367427.172147   29814 port.cc:153] " + NOISE[1] + " You may see...",
        "E0000 a real error from the runtime",
    ]
    payload = "".join(f"{line}\n" for line in lines).encode()
    module.write_text(f"import os\nos.write(2, {payload!r})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import_quietly("noisy_runtime")
    assert "noisy_runtime" in sys.modules
    assert capfd.readouterr().err == "E0000 a real error from the runtime\n"
    import_quietly("noisy_runtime")  # already imported: nothing runs again
    assert capfd.readouterr().err == ""
