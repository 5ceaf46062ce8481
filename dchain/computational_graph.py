"""The computational graph behind a variable, as Graphviz's DOT text (Chainer's
``chainer.computational_graph``).

    g = computational_graph.build_computational_graph([loss])
    open('cg.dot', 'w').write(g.dump())        # then: dot -Tpng cg.dot -o cg.png

Variables are drawn as grey octagons labelled ``name: (shape), dtype``, functions as blue
records labelled with their class name; an edge runs from each input variable to the function
and from the function to each output reached. The walk goes backward from the given outputs
and stops at variables without a creator (leaves, parameters, or variables after
``unchain_backward``).
"""
import json

from dchain.function_node import FunctionNode
from dchain.variable import Variable

_VARIABLE_STYLE = {'shape': 'octagon', 'fillcolor': '#E0E0E0', 'style': 'filled'}
_FUNCTION_STYLE = {'shape': 'record', 'fillcolor': '#6495ED', 'style': 'filled'}
_RANKDIRS = ('TB', 'BT', 'LR', 'RL')


def _variable_label(variable, show_name):
    label = str(variable.dtype)
    if variable.shape:
        label = '({}), {}'.format(', '.join(str(n) for n in variable.shape), label)
    if show_name and variable.name is not None:
        label = '{}: {}'.format(variable.name, label)
    return label


def _function_label(node):
    return getattr(node, 'label', None) or type(node).__name__


def _quote(text):
    return '"{}"'.format(str(text).replace('\\', '\\\\').replace('"', '\\"'))


class ComputationalGraph:
    """The nodes (Variables and FunctionNodes) and edges ``(head, tail)`` of a graph.

    Made by ``build_computational_graph``; the arguments are those of that function.
    """

    def __init__(self, nodes, edges, variable_style='default', function_style='default',
                 rankdir='TB', remove_variable=False, show_name=True):
        if rankdir not in _RANKDIRS:
            raise ValueError('ComputationalGraph: rankdir must be one of {}, got {!r}'.format(
                _RANKDIRS, rankdir))
        self.nodes = list(nodes)
        self.edges = list(edges)
        self.variable_style = _style('variable_style', variable_style, _VARIABLE_STYLE)
        self.function_style = _style('function_style', function_style, _FUNCTION_STYLE)
        self.rankdir = rankdir
        self.remove_variable = remove_variable
        self.show_name = show_name

    def _attributes(self, node):
        if isinstance(node, Variable):
            attributes = {'label': _variable_label(node, self.show_name)}
            attributes.update(self.variable_style)
        else:
            attributes = {'label': _function_label(node)}
            attributes.update(self.function_style)
        return ','.join('{}={}'.format(key, _quote(value)) for key, value in attributes.items())

    def _shown(self):
        """The nodes and edges to draw: with ``remove_variable``, functions only, an edge from
        each function to every function that reads one of its outputs."""
        if not self.remove_variable:
            return self.nodes, self.edges
        creators = {id(tail): head for head, tail in self.edges
                    if isinstance(head, FunctionNode)}
        edges = []
        for head, tail in self.edges:
            if isinstance(head, Variable) and id(head) in creators:
                edges.append((creators[id(head)], tail))
        return [n for n in self.nodes if isinstance(n, FunctionNode)], edges

    def _to_dot(self):
        nodes, edges = self._shown()
        parts = ['digraph graphname{rankdir=%s;' % self.rankdir]
        for node in nodes:
            parts.append('{} [{}];'.format(id(node), self._attributes(node)))
        drawn = set()
        for head, tail in edges:
            edge = id(head), id(tail)
            if edge not in drawn:
                drawn.add(edge)
                parts.append('{} -> {};'.format(*edge))
        parts.append('}')
        return ''.join(parts)

    def _to_json(self):
        nodes, edges = self._shown()
        described = []
        for node in nodes:
            if isinstance(node, Variable):
                described.append({'id': id(node), 'type': 'variable',
                                  'label': _variable_label(node, self.show_name)})
            else:
                described.append({'id': id(node), 'type': 'function',
                                  'label': _function_label(node)})
        return json.dumps({'nodes': described,
                           'edges': [[id(head), id(tail)] for head, tail in edges]})

    def dump(self, format='dot'):
        """The graph as text: ``'dot'`` (Graphviz, as Chainer writes it) or ``'json'``
        (``{"nodes": [{"id", "type", "label"}], "edges": [[head, tail]]}``)."""
        if format == 'dot':
            return self._to_dot()
        if format == 'json':
            return self._to_json()
        raise ValueError("ComputationalGraph.dump: format must be 'dot' or 'json', got {!r}"
                         .format(format))


def _style(argument, style, default):
    if style is None:
        return {}
    if isinstance(style, str):
        if style != 'default':
            raise ValueError("build_computational_graph: {} must be a dict, None or 'default', "
                             "got {!r}".format(argument, style))
        return dict(default)
    if not isinstance(style, dict):
        raise TypeError("build_computational_graph: {} must be a dict, None or 'default', got {}"
                        .format(argument, type(style).__name__))
    return dict(style)


def build_computational_graph(outputs, remove_split=True, variable_style='default',
                              function_style='default', rankdir='TB', remove_variable=False,
                              show_name=True):
    """The graph of functions and variables backward-reachable from ``outputs``.

    Args:
        outputs: a Variable or FunctionNode, or a list of them, where the walk starts.
        remove_split (bool): must be True (Chainer kept it for old graphs with split nodes).
        variable_style (dict, None or 'default'): DOT attributes of variable nodes
            ('shape', 'color', 'fillcolor', 'style', ...); 'default' is a grey octagon,
            None no attribute but the label.
        function_style (dict, None or 'default'): DOT attributes of function nodes; 'default'
            is a blue record.
        rankdir (str): 'TB', 'BT', 'LR' or 'RL', the direction of the drawing.
        remove_variable (bool): draw functions only.
        show_name (bool): put a variable's ``name`` (e.g. a parameter's 'W') in its label.

    Returns:
        ComputationalGraph: ``nodes``, ``edges`` and ``dump(format='dot')``.
    """
    if not remove_split:
        raise ValueError('build_computational_graph: remove_split must be True')
    if isinstance(outputs, (Variable, FunctionNode)):
        outputs = [outputs]
    outputs = list(outputs)
    for output in outputs:
        if not isinstance(output, (Variable, FunctionNode)):
            raise TypeError('build_computational_graph: outputs must be Variables or '
                            'FunctionNodes, got {}'.format(type(output).__name__))
    nodes = {}   # id -> node, in the order reached
    edges = []
    pending = list(outputs)
    while pending:
        node = pending.pop()
        if id(node) in nodes:
            continue
        nodes[id(node)] = node
        if isinstance(node, Variable):
            if node.creator is not None:
                edges.append((node.creator, node))
                pending.append(node.creator)
        else:
            for x in getattr(node, 'inputs', None) or ():
                if isinstance(x, Variable):
                    edges.append((x, node))
                    pending.append(x)
    return ComputationalGraph(list(nodes.values()), edges, variable_style, function_style,
                              rankdir, remove_variable, show_name)
