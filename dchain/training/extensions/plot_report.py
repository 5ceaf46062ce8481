"""PlotReport: curves of observed values, saved as an image in the trainer's ``out``."""
import json
import warnings

from dchain import reporter
from dchain.training import extension
from dchain.training.extensions._files import write_atomically
from dchain.training.triggers import get_trigger

_matplotlib = None  # (Figure, FigureCanvasAgg) once imported, False when missing


def _load_matplotlib():
    global _matplotlib
    if _matplotlib is None:
        try:
            # the Agg canvas is used directly: no display needed, and a user's pyplot backend
            # is left alone
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            _matplotlib = Figure, FigureCanvasAgg
        except ImportError:
            _matplotlib = False
    return _matplotlib


class PlotReport(extension.Extension):
    """Plot the means of ``y_keys`` against ``x_key`` each time ``trigger`` fires.

    Registered with ``call_before_training=True``, it also plots the values observed before
    the first update (at epoch 0, iteration 0).

    Needs matplotlib (``pip install "dchain[plot]"``); without it the extension does
    nothing but warn once.

    Args:
        y_keys (str or list of str): observation keys to plot, e.g. ``['main/loss',
            'validation/main/loss']``.
        x_key (str): 'epoch' or 'iteration'.
        trigger: when to add points and redraw, ``(1, 'epoch')`` by default.
        postprocess: called with ``(figure, axes, summary)`` before saving.
        filename (str): image file in the trainer's ``out``, 'plot.png' by default.
        marker (str): matplotlib marker of the points ('x'); None for lines only.
        grid (bool): draw a grid.
        file_name: Chainer's older name of ``filename``.
    """

    def __init__(self, y_keys, x_key='epoch', trigger=(1, 'epoch'), postprocess=None,
                 filename=None, marker='x', grid=True, file_name='plot.png'):
        if x_key not in ('epoch', 'iteration'):
            raise ValueError("PlotReport: x_key must be 'epoch' or 'iteration', got {!r}".format(
                x_key))
        self._y_keys = [y_keys] if isinstance(y_keys, str) else list(y_keys)
        self._x_key = x_key
        self._trigger = get_trigger(trigger)
        self._postprocess = postprocess
        self._file_name = filename if filename is not None else file_name
        self._marker = marker
        self._grid = grid
        self._data = {key: [] for key in self._y_keys}
        self._summary = reporter.DictSummary()
        self._warned = False

    @staticmethod
    def available():
        """True when matplotlib can be imported (warns once otherwise)."""
        if _load_matplotlib():
            return True
        warnings.warn('PlotReport needs matplotlib, which is not installed; no plot is drawn '
                      '(pip install "dchain[plot]")')
        return False

    def __call__(self, trainer):
        """Accumulate the observation; on the trigger add the means and redraw."""
        observation = trainer.observation
        self._summary.add({key: observation[key] for key in self._y_keys if key in observation})
        # before the first update (call_before_training=True) it plots Chainer's epoch-0 point
        if not (trainer.is_before_training or self._trigger(trainer)):
            return
        means = self._summary.compute_mean()
        self._summary = reporter.DictSummary()
        updater = trainer.updater
        x = updater.epoch if self._x_key == 'epoch' else updater.iteration
        for key in self._y_keys:
            if key in means:
                self._data[key].append((x, float(means[key])))
        if not _load_matplotlib():
            if not self._warned:
                self._warned = True
                self.available()
            return
        self._draw(trainer.out, means)

    def _draw(self, out, means):
        Figure, FigureCanvasAgg = _matplotlib
        figure = Figure()
        FigureCanvasAgg(figure)
        axes = figure.add_subplot(111)
        axes.set_xlabel(self._x_key)
        if self._grid:
            axes.grid()
        for key in self._y_keys:
            points = self._data[key]
            if points:
                xs, ys = zip(*points)
                axes.plot(xs, ys, marker=self._marker, label=key)
        if not axes.has_data():
            return
        if self._postprocess is not None:
            self._postprocess(figure, axes, means)
        legend = axes.legend(bbox_to_anchor=(1.05, 1), loc='upper left', borderaxespad=0.)
        write_atomically(out, self._file_name, lambda path: figure.savefig(
            path, bbox_extra_artists=(legend,), bbox_inches='tight'))

    def serialize(self, serializer):
        """Save or load the trigger, the running summary and the plotted points."""
        if hasattr(self._trigger, 'serialize'):
            self._trigger.serialize(serializer['_trigger'])
        self._summary.serialize(serializer['_summary'])
        data = json.loads(str(serializer('_plot_{}'.format(self._file_name),
                                         json.dumps(self._data))))
        self._data = {key: [tuple(point) for point in data.get(key, [])]
                      for key in self._y_keys}
