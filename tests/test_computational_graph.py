import json
import re

import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import computational_graph as c


def _classifier_loss():
    model = L.Classifier(L.Linear(3, 2))
    x = numpy.ones((4, 3), numpy.float32)
    t = numpy.zeros(4, numpy.int32)
    return model, model(x, t)


def _parse_dot(text):
    """{id: attributes} and the edge list of a DOT text as build_computational_graph writes."""
    assert re.match(r'digraph graphname{rankdir=(TB|BT|LR|RL);', text) and text.endswith('}')
    nodes = {int(i): dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', attributes))
             for i, attributes in re.findall(r'(\d+) \[([^\]]*)\];', text)}
    edges = [(int(a), int(b)) for a, b in re.findall(r'(\d+) -> (\d+);', text)]
    return nodes, edges


def test_graph_of_a_classifier_loss():
    model, loss = _classifier_loss()
    graph = c.build_computational_graph([loss])
    nodes, edges = _parse_dot(graph.dump())
    labels = sorted(attributes['label'] for attributes in nodes.values())
    # x, t, W, b, the linear output and the loss; the linear function and the loss function
    variables = [a['label'] for a in nodes.values() if a['shape'] == 'octagon']
    assert sorted(variables) == ['(4), int32', '(4, 2), float32', '(4, 3), float32',
                                 'W: (2, 3), float32', 'b: (2), float32', 'float32']
    functions = [a for a in nodes.values() if a['shape'] == 'record']
    assert len(functions) == 2 and len(labels) == 8
    assert all(a['fillcolor'] == '#6495ED' and a['style'] == 'filled' for a in functions)
    assert len(edges) == 7 and len(set(edges)) == 7
    # every edge joins a variable and a function, and the loss is reached from W
    shape = {i: a['shape'] for i, a in nodes.items()}
    assert all({shape[a], shape[b]} == {'octagon', 'record'} for a, b in edges)
    by_label = {a['label']: i for i, a in nodes.items()}
    assert (id(model.predictor.W), id(loss.creator.inputs[0].creator)) in edges
    assert (id(loss.creator), id(loss)) in edges and by_label['float32'] == id(loss)
    assert len(graph.nodes) == 8 and len(graph.edges) == 7


def test_only_what_is_backward_reachable():
    x = dchain.Variable(numpy.ones(3, numpy.float32))
    y = F.exp(x)
    z = F.tanh(x)
    graph = c.build_computational_graph(y)
    assert set(map(id, graph.nodes)) == {id(x), id(y), id(y.creator)}
    assert id(z) not in map(id, graph.nodes)
    both = c.build_computational_graph([y, z])
    assert len(both.nodes) == 5 and len(both.edges) == 4
    y.unchain_backward()
    assert [n is y for n in c.build_computational_graph(y).nodes] == [True]


def test_styles_rankdir_names_and_remove_variable():
    x = dchain.Variable(numpy.ones((2, 2), numpy.float32), name='in"put')
    y = F.relu(F.exp(x))
    text = c.build_computational_graph(y, variable_style=None, function_style={'color': 'red'},
                                       rankdir='LR').dump()
    assert text.startswith('digraph graphname{rankdir=LR;')
    nodes, edges = _parse_dot(text)
    assert 'in\\"put: (2, 2), float32' in [a['label'] for a in nodes.values()]
    assert sorted(len(a) for a in nodes.values()) == [1, 1, 1, 2, 2]
    plain = c.build_computational_graph(y, show_name=False).dump()
    assert 'in' not in ''.join(a['label'] for a in _parse_dot(plain)[0].values())
    functions_only = c.build_computational_graph(y, remove_variable=True)
    nodes, edges = _parse_dot(functions_only.dump())
    exp_node = y.creator.inputs[0].creator
    assert len(nodes) == 2 and edges == [(id(exp_node), id(y.creator))]
    described = json.loads(c.build_computational_graph(y).dump('json'))
    assert sorted(n['type'] for n in described['nodes']) == ['function'] * 2 + ['variable'] * 3
    assert len(described['edges']) == 4


def test_bad_arguments():
    y = F.exp(dchain.Variable(numpy.ones(1, numpy.float32)))
    with pytest.raises(TypeError, match='build_computational_graph: outputs must be Variables '
                                        'or FunctionNodes, got ndarray'):
        c.build_computational_graph([numpy.ones(1)])
    with pytest.raises(ValueError, match="ComputationalGraph: rankdir must be one of"):
        c.build_computational_graph(y, rankdir='XY')
    with pytest.raises(ValueError, match="dump: format must be 'dot' or 'json', got 'svg'"):
        c.build_computational_graph(y).dump('svg')
    with pytest.raises(ValueError, match='remove_split must be True'):
        c.build_computational_graph(y, remove_split=False)
    with pytest.raises(TypeError, match='variable_style must be a dict'):
        c.build_computational_graph(y, variable_style=3)
