"""Drawing graphs: `draw` builds a `graphviz.Digraph` of an unrolled graph, `render` writes it to a file.

    import microgradseq as mg
    graph = mg.viz.draw(loss, params=dict(model.named_parameters()))
    mg.viz.render(graph, "rnn.svg")

`step(t)` stamps the nodes made inside it with time step `t`, so a hand-written
loop draws in clusters as the built-in layers do. `draw_update(loss)` draws the
window a TBPTT update backpropagated, from the loss `mg.bptt.tbptt` hands to its
`on_backward(u, loss)` callback. `make_dot(var, params)` is torchviz's spelling
of `draw(var, params, view="ops", max_steps=None)`.
"""

from ..metadata import at_step as step
from .draw import draw, draw_update, make_dot
from .render import ensure_renderer, find_renderer, render

__all__ = ["draw", "draw_update", "ensure_renderer", "find_renderer", "make_dot", "render", "step"]
