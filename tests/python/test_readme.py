"""The README's examples run as shown: its Python block is executed, its C++ block is the body
of examples/downstream/readme.cpp (which the install test builds and runs), and the tutorial
notebook executes with every assert in it holding."""
import os
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def blocks(lang):
    return re.findall(r"```" + lang + r"\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_the_python_example_runs(capsys):
    (code,) = [b for b in blocks("python") if "inflab.Problem" in b]
    assert len(code.strip().splitlines()) <= 10
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("(1, 120) ") and "'converged'" in out and "source_rows" in out


def test_the_cpp_example_is_the_downstream_program():
    (code,) = [b for b in blocks("cpp") if "experiments::ProblemSpec" in b]
    src = (ROOT / "examples/downstream/readme.cpp").read_text()
    body = src[src.index("int main() {\n") + len("int main() {\n"):src.rindex("}")]
    dedent = "\n".join(l[2:] for l in body.splitlines()) + "\n"
    assert code == dedent


def test_the_tutorial_notebook_executes():
    import nbclient
    import nbformat
    nb = nbformat.read(ROOT / "examples/tutorial.ipynb", as_version=4)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "examples")}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    # its key numbers: exact HVPs, the three solvers agree, a saddle counted, groups closer at second order
    assert "cg     relative residual" in text and "lissa  relative residual" in text
    assert "'saddles': 1" in text and "second order" in text
