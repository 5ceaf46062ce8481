"""DumpGraph: write the computational graph of a reported variable as a Graphviz ``.dot`` file."""
import os
import shutil
import subprocess

from dchain import computational_graph
from dchain.config import config
from dchain.training import extension
from dchain.training.extensions._files import write_atomically
from dchain.variable import Variable

_VARIABLE_STYLE = {'shape': 'octagon', 'fillcolor': '#E0E0E0', 'style': 'filled'}
_FUNCTION_STYLE = {'shape': 'record', 'fillcolor': '#6495ED', 'style': 'filled'}


def is_graphviz_available():
    """True when Graphviz's ``dot`` command is on the PATH."""
    return shutil.which('dot') is not None


class DumpGraph(extension.Extension):
    """Write the graph behind ``observation[root_name]`` (e.g. 'main/loss') once, at the
    first iteration, to ``out/filename`` in Graphviz's DOT language; when Graphviz's ``dot``
    is installed, render it to a ``.png`` beside it as well.

    Reported Variables are normally stored without their graph; from ``initialize`` until the
    dump this extension turns ``config.keep_graph_on_report`` on, so the first iteration's
    loss keeps its graph, then restores the flag. Keep the default trigger: the graph of a
    later iteration would be kept in memory until then.

    Args:
        root_name (str): observation key of the variable whose graph is drawn.
        filename (str): file in the trainer's ``out``, 'cg.dot' by default.
        variable_style (dict): DOT attributes of variable nodes (a grey octagon by default).
        function_style (dict): DOT attributes of function nodes (a blue record by default).
        out_name: Chainer's older name of ``filename``.
    """

    default_name = 'dump_graph'
    priority = extension.PRIORITY_READER

    def __init__(self, root_name, filename=None, variable_style=None, function_style=None,
                 out_name='cg.dot'):
        self._root_name = root_name
        self._filename = out_name if filename is None else filename
        self._variable_style = _VARIABLE_STYLE if variable_style is None else variable_style
        self._function_style = _FUNCTION_STYLE if function_style is None else function_style
        self._original_flag = None
        self._flag_called = False

    def initialize(self, trainer):
        """Keep reported graphs until the dump (not again on a run resumed after it)."""
        if not self._flag_called:
            self._original_flag = bool(config.keep_graph_on_report)
            config.keep_graph_on_report = True

    def trigger(self, trainer):
        """Fires once: at the first call."""
        if self._flag_called:
            return False
        self._flag_called = True
        return True

    def __call__(self, trainer):
        """Write the graph of ``observation[root_name]``."""
        try:
            observation = trainer.observation
            if self._root_name not in observation:
                raise KeyError('DumpGraph: {!r} is not in the observation; observed keys are {}'
                               .format(self._root_name, sorted(observation)))
            variable = observation[self._root_name]
            if not isinstance(variable, Variable):
                raise TypeError('DumpGraph: {!r} must be a reported Variable to draw its graph, '
                                'got {}'.format(self._root_name, type(variable).__name__))
            text = computational_graph.build_computational_graph(
                [variable], variable_style=self._variable_style,
                function_style=self._function_style).dump()

            def write(path):
                with open(path, 'w') as stream:
                    stream.write(text)
            write_atomically(trainer.out, self._filename, write)
            if is_graphviz_available():
                path = os.path.join(trainer.out, self._filename)
                image = os.path.splitext(path)[0] + '.png'
                subprocess.run(['dot', '-Tpng', path, '-o', image], check=True,
                               capture_output=True)
        finally:
            self._restore_flag()

    def _restore_flag(self):
        if self._original_flag is not None:
            config.keep_graph_on_report = self._original_flag
            self._original_flag = None

    def finalize(self):
        """Restore ``keep_graph_on_report`` when training ended before the dump."""
        self._restore_flag()

    def serialize(self, serializer):
        """Save or load whether the graph was dumped already."""
        self._flag_called = bool(serializer('_flag_called', self._flag_called))
