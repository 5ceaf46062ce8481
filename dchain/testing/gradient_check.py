"""check_backward: compare backward with central differences in float64.

Each differentiable input is checked on its own along a random direction ``d``: the
directional derivative ``(f(x + eps d) - f(x - eps d)) . gy / (2 eps)`` computed in float64
must match ``gx . d`` from backward. A mismatch names the input and both values.
"""
import numpy

from dchain import backend
from dchain.variable import Variable, grad as _grad


def assert_allclose(actual, expected, atol=1e-5, rtol=1e-4, err_msg='', verbose=True):
    """numpy.testing.assert_allclose that accepts Variables and CuPy arrays."""
    def host(x):
        if isinstance(x, Variable):
            x = x.data
        return numpy.asarray(backend.to_cpu(x))
    numpy.testing.assert_allclose(host(actual), host(expected), atol=atol, rtol=rtol,
                                  err_msg=err_msg, verbose=verbose)


def _as_tuple(x):
    if x is None:
        return ()
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def numerical_grad(f, inputs, grad_outputs, eps=1e-3):
    """Elementwise central differences (Chainer's signature).

    ``f()`` returns a tuple of arrays computed from ``inputs`` (arrays modified in place).
    Returns one gradient array per input.
    """
    grads = []
    for x in inputs:
        xp = backend.get_array_module(x)
        gx = xp.zeros(x.shape, numpy.float64)
        flat = x.reshape(-1)
        for i in range(flat.size):
            original = flat[i].copy()
            flat[i] = original + eps
            ys_plus = [xp.asarray(y, numpy.float64).copy() for y in _as_tuple(f())]
            flat[i] = original - eps
            ys_minus = [xp.asarray(y, numpy.float64).copy() for y in _as_tuple(f())]
            flat[i] = original
            total = 0.0
            for yp, ym, gy in zip(ys_plus, ys_minus, grad_outputs):
                if gy is None:
                    continue
                total += float(((yp - ym) * xp.asarray(gy, numpy.float64)).sum())
            gx.reshape(-1)[i] = total / (2 * eps)
        grads.append(gx.astype(x.dtype, copy=False))
    return grads


def _outputs(func, inputs):
    ys = func(*inputs)
    return ys if isinstance(ys, (tuple, list)) else (ys,)


def check_backward(func, x_data, y_grad, params=(), eps=1e-3, atol=1e-5, rtol=1e-4,
                   no_grads=None, dtype=numpy.float64, seed=0):
    """Check the gradients that ``func`` computes by backward against central differences.

    Args:
        func: a callable taking Variables and returning a Variable or a tuple of them.
        x_data: an array or a tuple of arrays (the inputs). Integer inputs get no gradient.
        y_grad: the output gradient(s), or None when ``func`` returns one scalar.
        params: Parameters used inside ``func`` whose gradients are checked too.
        eps: the step of the central differences.
        atol, rtol: tolerances of the comparison of directional derivatives.
        no_grads: a list of booleans, True for inputs whose gradient is not checked.
        dtype: the dtype of the numerical evaluation (float64 unless told otherwise).
        seed: the seed of the random directions.
    """
    x_data = _as_tuple(x_data)
    y_grad = _as_tuple(y_grad)
    params = _as_tuple(params)
    if no_grads is None:
        no_grads = [x.dtype.kind != 'f' for x in x_data]
    elif len(no_grads) != len(x_data):
        raise ValueError('check_backward: no_grads must have one entry per input ({}), got {}'
                         .format(len(x_data), len(no_grads)))
    xp = backend.get_array_module(*x_data)

    # Analytical gradients, in the inputs' own dtype.
    xs = [Variable(x, requires_grad=not no_grad) for x, no_grad in zip(x_data, no_grads)]
    for p in params:
        p.cleargrad()
    ys = _outputs(func, xs)
    if not y_grad:
        if len(ys) != 1 or ys[0].size != 1:
            raise ValueError('check_backward: y_grad is needed when func returns more than one '
                             'scalar')
        y_grad = (None,)
    if len(y_grad) != len(ys):
        raise ValueError('check_backward: func returned {} outputs but y_grad has {}'.format(
            len(ys), len(y_grad)))
    gys = [xp.ones_like(y.data) if gy is None else gy for y, gy in zip(ys, y_grad)]
    targets = [x for x, no_grad in zip(xs, no_grads) if not no_grad] + list(params)
    gxs = _grad(list(ys), targets, grad_outputs=gys)
    names = ['input {}'.format(i) for i, no_grad in enumerate(no_grads) if not no_grad] + \
            ['parameter {}'.format(p.name or i) for i, p in enumerate(params)]

    # Numerical directional derivatives, in ``dtype``.
    rng = numpy.random.default_rng(seed)
    cast = (lambda a: a.astype(dtype)) if dtype is not None else (lambda a: a.copy())
    base_x = [cast(x) if not ng else x for x, ng in zip(x_data, no_grads)]
    base_p = [p.data for p in params]
    gys64 = [cast(g) for g in gys]

    def evaluate(values):
        k = 0
        call_x = []
        for x, ng in zip(base_x, no_grads):
            if ng:
                call_x.append(Variable(x, requires_grad=False))
            else:
                call_x.append(Variable(xp.asarray(values[k])))
                k += 1
        for p, value in zip(params, values[k:]):
            p.data = xp.asarray(value)
        outs = _outputs(func, call_x)
        return sum(float((y.data.astype(numpy.float64) * g).sum())
                   for y, g in zip(outs, gys64))

    originals = [x for x, ng in zip(base_x, no_grads) if not ng] + [cast(p) for p in base_p]
    try:
        for index, (gx, name) in enumerate(zip(gxs, names)):
            x0 = originals[index]
            direction = xp.asarray(rng.standard_normal(x0.shape)).astype(x0.dtype)
            norm = float(xp.sqrt((direction ** 2).sum())) or 1.0
            direction /= norm
            plus = list(originals)
            plus[index] = x0 + eps * direction
            minus = list(originals)
            minus[index] = x0 - eps * direction
            numerical = (evaluate(plus) - evaluate(minus)) / (2 * eps)
            analytical = 0.0 if gx is None else float(
                (gx.data.astype(numpy.float64) * direction.astype(numpy.float64)).sum())
            if gx is not None and gx.shape != x0.shape:
                raise AssertionError('check_backward: gradient of {} has shape {}, expected {}'
                                     .format(name, gx.shape, x0.shape))
            if not abs(numerical - analytical) <= atol + rtol * abs(numerical):
                raise AssertionError(
                    'check_backward: gradient of {} is off: backward gives {:.8g} along a random '
                    'direction, central differences give {:.8g} (difference {:.3g}, allowed '
                    '{:.3g})'.format(name, analytical, numerical, abs(numerical - analytical),
                                     atol + rtol * abs(numerical)))
    finally:
        for p, value in zip(params, base_p):
            p.data = value


def check_double_backward(func, x_data, y_grad, x_grad_grad, params=(), eps=1e-3, atol=1e-4,
                          rtol=1e-3, no_grads=None, dtype=numpy.float64, seed=0):
    """Check second-order gradients: the backward of ``func``'s backward.

    The first-order gradients ``gx = grad(func(x), x, gy)`` are themselves checked with
    ``check_backward`` as a function of ``(x, gy)``, with output gradient ``x_grad_grad``.
    """
    x_data = _as_tuple(x_data)
    y_grad = _as_tuple(y_grad)
    n_x = len(x_data)

    def first_order(*inputs):
        xs, gys = inputs[:n_x], inputs[n_x:]
        ys = _outputs(func, xs)
        gxs = _grad(list(ys), list(xs), grad_outputs=list(gys), enable_double_backprop=True)
        return tuple(g if g is not None else Variable(xs[i].xp.zeros_like(xs[i].data))
                     for i, g in enumerate(gxs))

    check_backward(first_order, x_data + y_grad, x_grad_grad, params=params, eps=eps,
                   atol=atol, rtol=rtol, no_grads=no_grads, dtype=dtype, seed=seed)
