"""Interactive demos for JupyterLab (ipywidgets).

Every widget here has a static twin in :mod:`course_lib.plots`, which the
book shows: a saved widget cannot run Python, so the website shows figures.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

from course_lib import nn, plots


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
        "activation": widgets.Dropdown(options=list(nn.ACTIVATIONS), value=activation,
                                       description="activation"),
    }
    output = widgets.Output()

    def redraw(_change: object = None) -> None:
        with output:
            output.clear_output(wait=True)
            fig = plots.neuron_response(**{name: c.value for name, c in controls.items()})
            display(fig)
            plt.close(fig)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return widgets.HBox([widgets.VBox(list(controls.values())), output])
