"""Turning a drawing into a file: find a `dot` renderer, then run it.

A system Graphviz is used when its `dot` is on PATH. Otherwise the
`graphviz-pure` binary, which `pip install microgradseq` brings along, does the
same job, so `.svg` and `.png` files come out on a machine with no Graphviz.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import graphviz

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
PURE = "graphviz-pure"
_UNSET = object()
_renderer = _UNSET


def find_renderer() -> str | None:
    """The path of a dot-compatible binary: the system `dot`, else `graphviz-pure`, else None."""
    system = shutil.which("dot")
    if system:
        return system
    found = shutil.which(PURE)
    if found:
        return found
    suffix = ".exe" if os.name == "nt" else ""
    folders = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    for folder in folders:
        candidate = folder / (PURE + suffix)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def ensure_renderer() -> str | None:
    """Find the renderer once; point the graphviz package at it when there is no system `dot`.

    After this, `graph.render()`, `graph.pipe()` and Jupyter's display of a
    `graphviz.Digraph` work with `graphviz-pure` too. Returns the binary's path,
    or None when there is no renderer (the DOT text is still in `graph.source`).
    """
    global _renderer
    if _renderer is _UNSET:
        _renderer = find_renderer()
        command = graphviz.backend.dot_command
        if _renderer is not None and Path(_renderer).name.startswith(PURE) \
                and str(command.DOT_BINARY) == "dot":
            command.DOT_BINARY = Path(_renderer)
    return _renderer


def cannot_write(suffix: str, renderer: str | None) -> str | None:
    """Why `renderer` cannot write a file ending in `suffix`, or None when it can: graphviz-pure
    writes .svg and .png, not .pdf."""
    if suffix.lower() == ".pdf" and renderer is not None and Path(renderer).name.startswith(PURE):
        return f".pdf needs the system Graphviz `dot` (here {PURE} renders, which writes .svg and .png)"
    return None


PURE_LIMIT = 1_500     # boxes graphviz-pure lays out in a few seconds (its time and memory grow fast past it)


def too_many_for(source: str, renderer: str) -> str | None:
    """Why `renderer` should not lay out the DOT `source`, or None: graphviz-pure's layout of a
    drawing of more than PURE_LIMIT boxes takes long and much memory (an op chain of 2,400 boxes:
    11 s and 2 GB; 4,000: 48 s and 5.7 GB), where the system `dot` copes. The invisible points
    that only hold the layout (a column's anchor) are no boxes: a 700-step cells view has 1,408
    boxes and as many such points, and renders in about 2 s."""
    if not Path(renderer).name.startswith(PURE):
        return None
    boxes = sum(1 for line in source.splitlines() if "[" in line and "->" not in line and "style=invis" not in line)
    if boxes <= PURE_LIMIT:
        return None
    cells = "" if "group=states" in source else "draw the cells view, "     # (its state boxes are in that group)
    return (f"a drawing of {boxes:,} boxes is more than {PURE} lays out in reasonable time and memory "
            f"(at most {PURE_LIMIT:,}): draw fewer steps (stamp them with mg.viz.step(t) and pass max_steps), "
            f"{cells}or install Graphviz (its `dot` on PATH), which has no such limit")


STDERR_LINES = 5    # of the renderer's messages, the first lines (a failed layout can print thousands)


def renderer_failed(binary: str, name: str, code: int, stderr: str, source: str) -> str:
    """What `render` says when the renderer exits non-zero on the DOT `source`: its first messages, and
    for Graphviz's `trouble in init_rank` (a layout of many steps, clusters and `newrank`) what to do."""
    lines = stderr.strip().splitlines()
    shown = "\n".join(lines[:STDERR_LINES])
    if len(lines) > STDERR_LINES:
        shown += f"\n... ({len(lines) - STDERR_LINES:,} more lines)"
    cells = "" if "group=states" in source else ", or the cells view"
    advice = (f"; Graphviz's layout of this drawing failed: draw fewer steps (pass max_steps){cells}"
              if "trouble in init_rank" in stderr else "")
    return f"render: {Path(binary).name} failed on {name} (exit {code}){advice}: {shown}"


def render(graph: graphviz.Digraph | str, path: str | os.PathLike) -> Path:
    """Write `graph` (a Digraph or DOT text, any Unicode) to `path`; the suffix picks .svg, .png or .pdf.
    An existing file is overwritten; a folder that does not exist is a `FileNotFoundError`."""
    if not isinstance(graph, (str, graphviz.Digraph, graphviz.Graph, graphviz.Source)):
        raise TypeError(f"render: expected a graphviz.Digraph (as mg.draw returns) or DOT text, "
                        f"got {type(graph).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"render: expected a path (str or pathlib.Path) ending in .svg, .png or .pdf, "
                        f"got {type(path).__name__}")
    path = Path(path)
    output_format = FORMATS.get(path.suffix.lower())
    if output_format is None:
        raise ValueError(f"render: cannot tell the format from {path.name!r}; "
                         f"use one of {', '.join(FORMATS)} (the DOT text is graph.source; "
                         "graph.save('graph.dot') writes it)")
    binary = ensure_renderer()
    if binary is None:
        raise RuntimeError("render: no Graphviz renderer found; `pip install graphviz-pure` or install "
                           "Graphviz (its `dot` on PATH). The DOT text is in graph.source")
    problem = cannot_write(path.suffix, binary)
    if problem:
        raise ValueError(f"render: {problem}, got {path.name!r}")
    if not path.absolute().parent.is_dir():     # (the renderer's own message blames the renderer)
        raise FileNotFoundError(f"render: the folder {str(path.parent)!r} does not exist; create it first "
                                f"(Path({str(path.parent)!r}).mkdir(parents=True)), got {str(path)!r}")
    source = graph if isinstance(graph, str) else graph.source
    too_many = too_many_for(source, binary)
    if too_many:
        raise ValueError(f"render: {too_many}, got {path.name!r}")
    # an absolute path, so a name starting with '-' is not read as an option of the renderer
    done = subprocess.run([binary, f"-T{output_format}", "-o", str(path.absolute())],
                          input=source.encode("utf-8"), capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(renderer_failed(binary, path.name, done.returncode, done.stderr.decode(errors="replace"),
                                           source))
    return path
