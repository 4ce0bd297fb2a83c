"""Interactive demos for JupyterLab (ipywidgets).

Every widget here has a static twin in :mod:`course_lib.plots`, which the
book shows: a saved widget cannot run Python, so the website shows figures.
The chapters' widget cells are tagged ``remove-cell`` (hidden on the website,
where they would be code with an empty output) and ``skip-execution`` (the
book build does not run them: executed by nbclient, a cell whose Output
widget redraws can leave the executor waiting for the cell timeout); they run
when a chapter is opened in JupyterLab (``make lab``). The static figure cell
follows each one.
"""

from __future__ import annotations

from typing import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display
from matplotlib.figure import Figure

from course_lib import numpy_nn, plots


def live_figure(controls: Sequence[widgets.ValueWidget], draw: Callable[[], Figure]) -> widgets.Output:
    """An output area showing ``draw()``, drawn again whenever one of ``controls`` changes."""
    output = widgets.Output()

    def redraw(_change: object = None) -> None:
        with output:
            output.clear_output(wait=True)
            fig = draw()
            display(fig)
            plt.close(fig)

    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    return output


def neuron_widget(w1: float = 1.0, w2: float = -1.0, b: float = 0.0,
                  activation: str = "sigmoid") -> widgets.Widget:
    """Sliders for a two-input neuron's weights and bias; the plot follows them.

    The static twin is :func:`course_lib.plots.neuron_gallery`.
    """
    def slider(value: float, description: str) -> widgets.FloatSlider:
        return widgets.FloatSlider(value=value, min=-3.0, max=3.0, step=0.1,
                                   description=description, continuous_update=False)

    controls = {
        "w1": slider(w1, "weight w1"),
        "w2": slider(w2, "weight w2"),
        "b": slider(b, "bias b"),
        "activation": widgets.Dropdown(options=list(numpy_nn.ACTIVATIONS), value=activation,
                                       description="activation"),
    }
    output = live_figure(list(controls.values()),
                         lambda: plots.neuron_response(**{name: c.value for name, c in controls.items()}))
    return widgets.HBox([widgets.VBox(list(controls.values())), output])


def knobs_widget(loss_at, values: dict[str, float], span: float = 1.5) -> widgets.Widget:
    """One slider per knob (parameter); the loss and its slices follow them.

    ``loss_at(knobs)`` is the loss for a dict of knob values; ``values`` is
    the starting setting. The static twin is :func:`course_lib.plots.knob_slices`.
    """
    start = dict(values)
    sliders = {name: widgets.FloatSlider(value=v, min=v - span, max=v + span, step=span / 50,
                                         description=f"knob {name}", continuous_update=False)
               for name, v in start.items()}
    output = live_figure(list(sliders.values()),
                         lambda: plots.knob_slices(loss_at, {n: s.value for n, s in sliders.items()},
                                                   start=start, span=span))
    return widgets.VBox([widgets.HBox(list(sliders.values())), output])


def learning_rate_widget(f, descend, lr: float = 0.1, extent=(-4, 4, -3, 3)) -> widgets.Widget:
    """A learning-rate slider (log scale) over a gradient descent run on a 2-D loss surface.

    ``f(w1, w2)`` is the loss surface (on numpy grids); ``descend(lr)`` returns
    the run's points, shape (steps + 1, 2). The static twin is
    :func:`course_lib.plots.descent_panels`.
    """
    slider = widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.05,
                                    description="learning rate", continuous_update=False)

    def draw() -> Figure:
        path = descend(slider.value)
        title = f"learning rate {slider.value:.3g}: final loss {f(*path[-1]):.3g}"
        return plots.descent_panel(f, path, title, extent)

    output = live_figure([slider], draw)
    return widgets.VBox([slider, output])
