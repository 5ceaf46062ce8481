"""Link, Chain, ChainList and Sequential: models as trees of parameterized layers.

A Link owns Parameters (registered when assigned inside ``init_scope()`` or with
``add_param``) and persistent values (``add_persistent``: saved and moved with the link but
not trained). A Chain owns child links by attribute name; a ChainList by position. Parameter
paths are the attribute names joined by '/', e.g. ``/predictor/l1/W``, which is also the key
layout of saved files.
"""
import contextlib
import copy as copy_module

import numpy

from dchain import backend
from dchain.variable import Parameter, Variable


class Link:
    """A building block of models, holding parameters and persistent values.

    ``link(*args)`` calls ``link.forward(*args)``. Subclasses create parameters inside
    ``with self.init_scope():`` by assigning Parameters to attributes.
    """

    def __init__(self, **params):
        d = self.__dict__
        d['_params'] = []
        d['_persistent'] = []
        d['_within_init_scope'] = False
        d['_device'] = backend.CPU
        d['name'] = None
        for name, shape in params.items():
            self.add_param(name, shape)

    # -- registration -----------------------------------------------------------------------
    @property
    def within_init_scope(self):
        """True inside ``with self.init_scope():``."""
        return getattr(self, '_within_init_scope', False)

    @contextlib.contextmanager
    def init_scope(self):
        """Inside this block, assigning a Parameter (or, in a Chain, a Link) registers it."""
        old = self.__dict__.get('_within_init_scope', False)
        self.__dict__['_within_init_scope'] = True
        try:
            yield
        finally:
            self.__dict__['_within_init_scope'] = old

    def __setattr__(self, name, value):
        if self.within_init_scope and isinstance(value, Parameter):
            self._register_param(name, value)
        super().__setattr__(name, value)

    def _register_param(self, name, param):
        if '_params' not in self.__dict__:
            raise RuntimeError('{}: call super().__init__() before registering parameters'
                               .format(type(self).__name__))
        param.name = name
        device = self._device
        if device is not backend.CPU:
            param.to_device(device)
        if name not in self._params:
            self._params.append(name)

    def __delattr__(self, name):
        if name in self.__dict__.get('_params', ()):
            self._params.remove(name)
        elif name in self.__dict__.get('_persistent', ()):
            self._persistent.remove(name)
        super().__delattr__(name)

    def add_param(self, name, shape=None, dtype=numpy.float32, initializer=None):
        """Register a new Parameter ``name`` (uninitialized when ``shape`` is None)."""
        if name in self.__dict__:
            raise AttributeError('{}.add_param: the attribute {!r} already exists'.format(
                type(self).__name__, name))
        from dchain import initializers
        if initializer is None:
            initializer = initializers.NaN()
        initializer = initializers._get_initializer(initializer)
        if getattr(initializer, 'dtype', None) is None and hasattr(initializer, 'dtype'):
            initializer.dtype = dtype
        param = Parameter(initializer, shape)
        with self.init_scope():
            setattr(self, name, param)

    def add_persistent(self, name, value):
        """Register a persistent value: saved, loaded and moved with the link, not trained."""
        if name in self.__dict__:
            raise AttributeError('{}.add_persistent: the attribute {!r} already exists'.format(
                type(self).__name__, name))
        self.__dict__[name] = value
        self._persistent.append(name)

    def register_persistent(self, name):
        """Mark an existing attribute as persistent."""
        if name not in self.__dict__:
            raise AttributeError('{}.register_persistent: no attribute {!r}'.format(
                type(self).__name__, name))
        if name not in self._persistent:
            self._persistent.append(name)

    # -- traversal ----------------------------------------------------------------------------
    def params(self, include_uninit=True):
        """Yield every parameter of this link and its descendants."""
        for _, param in self.namedparams(include_uninit):
            yield param

    def namedparams(self, include_uninit=True):
        """Yield (path, parameter) pairs, paths like '/l1/W'."""
        d = self.__dict__
        for name in self._params:
            if include_uninit or d[name].data is not None:
                yield '/' + name, d[name]

    def links(self, skipself=False):
        """Yield this link (unless ``skipself``) and every descendant."""
        for _, link in self.namedlinks(skipself):
            yield link

    def namedlinks(self, skipself=False):
        """Yield (path, link) pairs; this link's path is '/'."""
        if not skipself:
            yield '/', self

    def children(self):
        """Yield the direct child links."""
        return iter(())

    def count_params(self):
        """The number of scalars in the initialized parameters."""
        return sum(p.data.size for p in self.params(include_uninit=False))

    # -- gradients ------------------------------------------------------------------------------
    def cleargrads(self):
        """Set every parameter's gradient to None (the next backward starts afresh)."""
        for param in self.params():
            param.cleargrad()

    def zerograds(self):
        """Set every parameter's gradient to zeros (the older style; prefer cleargrads)."""
        for param in self.params():
            param.zerograd()

    def addgrads(self, link):
        """Add the gradients of ``link`` (the same architecture) into this link's."""
        theirs = dict(link.namedparams())
        for path, param in self.namedparams():
            param.addgrad(theirs[path])

    def copyparams(self, link, copy_persistent=True):
        """Copy the parameter (and persistent) values of ``link`` into this link, in place."""
        theirs = dict(link.namedparams())
        for path, param in self.namedparams():
            if path not in theirs:
                raise ValueError('copyparams: the source link has no parameter {}'.format(path))
            param.copydata(theirs[path])
        if copy_persistent:
            their_links = dict(link.namedlinks())
            for path, mine in self.namedlinks():
                other = their_links[path]
                for name in mine._persistent:
                    value = other.__dict__[name]
                    if isinstance(value, numpy.ndarray) or backend.is_gpu_array(value):
                        mine.__dict__[name][...] = mine._device.send(value)
                    else:
                        mine.__dict__[name] = copy_module.deepcopy(value)

    def copy(self, mode='share'):
        """A copy of this link: 'share' (new Parameters on the same arrays), 'copy' (new
        arrays), or 'init' (parameters re-initialized by their initializers)."""
        if mode not in ('share', 'copy', 'init'):
            raise ValueError("Link.copy: mode must be 'share', 'copy' or 'init', got {!r}"
                             .format(mode))
        ret = copy_module.copy(self)
        d = ret.__dict__
        d['_params'] = list(self._params)
        d['_persistent'] = list(self._persistent)
        d['name'] = None
        for name in self._params:
            d[name] = _copy_param(self.__dict__[name], mode)
        for name in self._persistent:
            value = self.__dict__[name]
            d[name] = copy_module.deepcopy(value) if mode != 'share' else value
        return ret

    def repeat(self, n_repeat, mode='init'):
        """A Sequential of ``n_repeat`` copies of this link, as Chainer's ``Link.repeat``.

        Args:
            n_repeat (int): the number of copies; 0 or less gives an empty Sequential.
            mode (str): how each copy is made (see ``copy``): 'init' (default: parameters
                re-initialized by their initializers, so the copies differ), 'copy' (the same
                values in new arrays) or 'share' (the same parameters).
        """
        if isinstance(n_repeat, bool) or not isinstance(n_repeat, (int, numpy.integer)):
            raise TypeError('{}.repeat: n_repeat must be an int, got {}'.format(
                type(self).__name__, type(n_repeat).__name__))
        if mode not in ('share', 'copy', 'init'):
            raise ValueError("{}.repeat: mode must be 'init', 'copy' or 'share', got {!r}"
                             .format(type(self).__name__, mode))
        ret = Sequential()
        for _ in range(int(n_repeat)):
            ret.append(self.copy(mode))
        return ret

    # -- devices --------------------------------------------------------------------------------
    @property
    def device(self):
        """The Device holding this link's arrays."""
        return self._device

    @property
    def xp(self):
        """numpy or cupy, whichever holds this link's arrays."""
        return self._device.xp

    def to_device(self, device):
        """Move every parameter and persistent array to ``device`` ('@numpy', '@cupy:0', -1,
        0, ...); returns self."""
        device = backend.get_device(device)
        for link in self.links():
            d = link.__dict__
            d['_device'] = device
            for name in link._params:
                d[name].to_device(device)
            for name in link._persistent:
                value = d[name]
                if isinstance(value, numpy.ndarray) or backend.is_gpu_array(value):
                    d[name] = device.send(value)
        return self

    def to_cpu(self):
        """Move the link to the host; returns self."""
        return self.to_device(backend.CPU)

    def to_gpu(self, device=None):
        """Move the link to GPU ``device`` (the current one when None); returns self."""
        if device is None:
            device = backend._require_cupy('Link.to_gpu').cuda.Device().id
        return self.to_device(getattr(device, 'id', device))

    # -- optimizer switches -----------------------------------------------------------------------
    def enable_update(self):
        """Let optimizers update this link's parameters (the default)."""
        self._set_update(True)

    def disable_update(self):
        """Freeze this link's parameters: optimizers skip them."""
        self._set_update(False)

    def _set_update(self, enabled):
        for param in self.params():
            param.__dict__['_update_enabled'] = enabled
            if param.update_rule is not None:
                param.update_rule.enabled = enabled

    @property
    def update_enabled(self):
        """True when every parameter is updated by optimizers."""
        return all(p.__dict__.get('_update_enabled', True) for p in self.params())

    # -- calling and saving -----------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError('{} defines neither forward nor __call__'.format(
            type(self).__name__))

    def serialize(self, serializer):
        """Save or load parameters and persistents through ``serializer`` (Chainer's protocol:
        ``value = serializer(key, value)``)."""
        d = self.__dict__
        for name in self._params:
            param = d[name]
            data = serializer(name, param.data)
            if param.data is None and data is not None:
                param.initialize(data.shape)
                param.data[...] = param.device.send(data)
        for name in self._persistent:
            d[name] = serializer(name, d[name])

    def __repr__(self):
        return '{}()'.format(type(self).__name__)


def _copy_param(param, mode):
    new = Parameter.__new__(Parameter)
    Variable.__init__(new, None, name=param.name)
    new.__dict__.update(param.__dict__)
    new.update_rule = None
    if mode == 'share':
        new._data = param._data
    elif mode == 'copy':
        new._data = None if param._data is None else param._data.copy()
    elif param._data is not None:
        new._data = None
        new.initialize(param._data.shape)
    return new


class Chain(Link):
    """A link made of named child links.

    Children are registered by assignment inside ``init_scope()``, or passed as keywords
    (``super().__init__(l1=L.Linear(4, 3))``, Chainer's older style).
    """

    def __init__(self, **links):
        super().__init__()
        self.__dict__['_children'] = []
        for name, link in links.items():
            self.add_link(name, link)

    def __setattr__(self, name, value):
        if self.within_init_scope and isinstance(value, Link):
            self._register_child(name, value)
        super().__setattr__(name, value)

    def _register_child(self, name, link):
        if '_children' not in self.__dict__:
            raise RuntimeError('{}: call super().__init__() before registering links'.format(
                type(self).__name__))
        if name in self._children:
            self._children.remove(name)
        link.name = name
        self._children.append(name)
        if self._device is not backend.CPU:
            link.to_device(self._device)

    def __delattr__(self, name):
        if name in self.__dict__.get('_children', ()):
            self._children.remove(name)
        super().__delattr__(name)

    def __getitem__(self, name):
        return getattr(self, name)

    def add_link(self, name, link):
        """Register ``link`` as the child ``name``."""
        if name in self.__dict__:
            raise AttributeError('{}.add_link: the attribute {!r} already exists'.format(
                type(self).__name__, name))
        if not isinstance(link, Link):
            raise TypeError('{}.add_link: {!r} must be a Link, got {}'.format(
                type(self).__name__, name, type(link).__name__))
        with self.init_scope():
            setattr(self, name, link)

    def children(self):
        d = self.__dict__
        for name in self._children:
            yield d[name]

    def namedparams(self, include_uninit=True):
        yield from super().namedparams(include_uninit)
        d = self.__dict__
        for name in self._children:
            prefix = '/' + name
            for path, param in d[name].namedparams(include_uninit):
                yield prefix + path, param

    def namedlinks(self, skipself=False):
        if not skipself:
            yield '/', self
        d = self.__dict__
        for name in self._children:
            child = d[name]
            prefix = '/' + name
            yield prefix, child
            for path, link in child.namedlinks(True):
                yield prefix + path, link

    def copy(self, mode='share'):
        ret = super().copy(mode)
        d = ret.__dict__
        d['_children'] = list(self._children)
        for name in self._children:
            child = self.__dict__[name].copy(mode)
            child.name = name
            d[name] = child
        return ret

    def serialize(self, serializer):
        super().serialize(serializer)
        d = self.__dict__
        for name in self._children:
            d[name].serialize(serializer[name])


class ChainList(Link):
    """A link made of a list of child links, named '0', '1', ... in paths."""

    def __init__(self, *links):
        super().__init__()
        self.__dict__['_children'] = []
        for link in links:
            self.add_link(link)

    def __setattr__(self, name, value):
        if self.within_init_scope and isinstance(value, Link):
            raise TypeError('ChainList: add child links with append/add_link, not by attribute')
        super().__setattr__(name, value)

    def add_link(self, link):
        """Append ``link`` as the next child."""
        if not isinstance(link, Link):
            raise TypeError('{}.add_link: expected a Link, got {}'.format(
                type(self).__name__, type(link).__name__))
        link.name = str(len(self._children))
        self._children.append(link)
        if self._device is not backend.CPU:
            link.to_device(self._device)

    append = add_link

    def __getitem__(self, index):
        return self._children[index]

    def __iter__(self):
        return iter(self._children)

    def __len__(self):
        return len(self._children)

    def children(self):
        return iter(self._children)

    def namedparams(self, include_uninit=True):
        yield from super().namedparams(include_uninit)
        for i, child in enumerate(self._children):
            prefix = '/{}'.format(i)
            for path, param in child.namedparams(include_uninit):
                yield prefix + path, param

    def namedlinks(self, skipself=False):
        if not skipself:
            yield '/', self
        for i, child in enumerate(self._children):
            prefix = '/{}'.format(i)
            yield prefix, child
            for path, link in child.namedlinks(True):
                yield prefix + path, link

    def copy(self, mode='share'):
        ret = super().copy(mode)
        ret.__dict__['_children'] = [child.copy(mode) for child in self._children]
        for i, child in enumerate(ret._children):
            child.name = str(i)
        return ret

    def serialize(self, serializer):
        super().serialize(serializer)
        for i, child in enumerate(self._children):
            child.serialize(serializer[str(i)])


class Sequential(ChainList):
    """Layers applied in order: links (registered as children) or plain callables.

    ``Sequential(L.Linear(784, 100), F.relu, L.Linear(100, 10))``.
    """

    def __init__(self, *layers):
        super().__init__()
        self.__dict__['_layers'] = []
        for layer in layers:
            self.append(layer)

    def append(self, layer):
        """Add a layer at the end (a Link or any callable)."""
        if isinstance(layer, Link):
            super().add_link(layer)
        elif not callable(layer):
            raise TypeError('Sequential.append: a layer must be a Link or a callable, got {}'
                            .format(type(layer).__name__))
        self._layers.append(layer)

    add_link = append

    def __getitem__(self, index):
        return self._layers[index]

    def __iter__(self):
        return iter(self._layers)

    def __len__(self):
        return len(self._layers)

    def forward(self, *x):
        for layer in self._layers:
            x = layer(*x) if isinstance(x, tuple) else layer(x)
        return x

    def copy(self, mode='share'):
        ret = super().copy(mode)
        children = iter(ret._children)
        ret.__dict__['_layers'] = [next(children) if isinstance(layer, Link) else layer
                                   for layer in self._layers]
        return ret
