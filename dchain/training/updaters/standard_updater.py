"""StandardUpdater: one mini-batch, one optimizer step per iteration."""
from dchain import backend
from dchain.dataset import call_converter, concat_examples
from dchain.training.updater import Updater


class StandardUpdater(Updater):
    """The usual update: ``batch = iterator.next()``, ``in_arrays = converter(batch, device)``,
    ``optimizer.update(loss_func, *in_arrays)``.

    A tuple from the converter is passed as positional arguments, a dict as keyword
    arguments, anything else as one argument.

    Args:
        iterator: an Iterator, or a dict of them (the one named 'main' feeds updates).
        optimizer: an Optimizer, or a dict of them by name. ``update_core`` steps the one
            named 'main'; an updater that overrides ``update_core`` (a GAN's, say) may name
            them as it likes, e.g. ``{'gen': ..., 'dis': ...}``.
        converter: ``converter(batch, device)`` -> arrays; device as a Device for a
            ``Converter`` (``@dataset.converter()``), as -1 or a GPU id for a plain
            function, as Chainer's legacy converters expect (see ``call_converter``).
        device: where the models go and, unless ``input_device`` is given, the input arrays
            ('@numpy', '@cupy:0', -1, 0, a Device); None leaves the models where they are and
            lets the converter keep arrays on the host.
        loss_func: the loss to minimize; the optimizer's target (the model) when None.
        loss_scale (float): loss scaling factor for mixed precision, given to every optimizer.
        auto_new_epoch (bool): call ``optimizer.new_epoch(auto=True)`` at each epoch boundary.
        input_device: where the converter sends the input arrays; ``device`` when None. With
            it alone the models stay where they are (e.g. a model spread over two devices).

    Attributes:
        device: the Device of ``device`` (None when none was given).
        input_device: the Device of the input arrays (None when neither was given).
    """

    def __init__(self, iterator, optimizer, converter=concat_examples, device=None,
                 loss_func=None, loss_scale=None, auto_new_epoch=True, input_device=None):
        iterators = iterator if isinstance(iterator, dict) else {'main': iterator}
        optimizers = optimizer if isinstance(optimizer, dict) else {'main': optimizer}
        if 'main' not in iterators:
            raise ValueError("StandardUpdater: a dict of iterators must have a 'main' iterator, "
                             "got keys {}".format(sorted(iterators)))
        if not optimizers:
            raise ValueError('StandardUpdater: optimizer must be an Optimizer or a non-empty '
                             'dict of them, got an empty dict')
        for name, each in optimizers.items():
            if not hasattr(each, 'update') or getattr(each, 'target', None) is None:
                raise TypeError('StandardUpdater: optimizer {!r} must be an Optimizer set up '
                                'with a link (call optimizer.setup(model)), got {}'.format(
                                    name, type(each).__name__))
        self._iterators = iterators
        self._optimizers = optimizers
        if device is not None:
            device = backend.get_device(device)
            for each in optimizers.values():
                each.target.to_device(device)
        self.converter = converter
        self.device = device
        self.input_device = device if input_device is None else backend.get_device(input_device)
        self.loss_func = loss_func
        self.iteration = 0
        self.auto_new_epoch = auto_new_epoch
        for name, each in optimizers.items():
            if loss_scale is not None:
                if not hasattr(each, 'set_loss_scale'):
                    raise TypeError('StandardUpdater: loss_scale needs optimizers with '
                                    'set_loss_scale(); optimizer {!r} ({}) has none'.format(
                                        name, type(each).__name__))
                each.set_loss_scale(loss_scale)
            if auto_new_epoch:
                each.use_auto_new_epoch = True

    @property
    def epoch(self):
        """Completed epochs of the 'main' iterator."""
        return self._iterators['main'].epoch

    @property
    def epoch_detail(self):
        """Epochs as a float, e.g. 1.5 halfway through the second epoch."""
        return self._iterators['main'].epoch_detail

    @property
    def previous_epoch_detail(self):
        """``epoch_detail`` before the last update."""
        return self._iterators['main'].previous_epoch_detail

    @property
    def is_new_epoch(self):
        """True right after the update that finished an epoch."""
        return self._iterators['main'].is_new_epoch

    def get_iterator(self, name):
        """The iterator registered as ``name`` ('main' for a single iterator)."""
        return self._iterators[name]

    def get_optimizer(self, name):
        """The optimizer registered as ``name`` ('main' for a single optimizer)."""
        return self._optimizers[name]

    def get_all_optimizers(self):
        """A new dict of every optimizer by name."""
        return dict(self._optimizers)

    def update(self):
        """Run one update and count the iteration."""
        self.update_core()
        self.iteration += 1

    def update_core(self):
        """Read a batch, convert it and let the 'main' optimizer take one step."""
        iterator = self._iterators['main']
        batch = iterator.next()
        in_arrays = call_converter(self.converter, batch, self.input_device)
        optimizer = self._optimizers.get('main')
        if optimizer is None:
            raise KeyError("StandardUpdater.update_core: steps the optimizer named 'main', and "
                           "the optimizers are {}; name one 'main' or override update_core"
                           .format(sorted(self._optimizers)))
        loss_func = self.loss_func or optimizer.target
        if isinstance(in_arrays, tuple):
            optimizer.update(loss_func, *in_arrays)
        elif isinstance(in_arrays, dict):
            optimizer.update(loss_func, **in_arrays)
        else:
            optimizer.update(loss_func, in_arrays)
        if self.auto_new_epoch and iterator.is_new_epoch:
            optimizer.new_epoch(auto=True)

    def finalize(self):
        """Finalize every iterator."""
        for iterator in self._iterators.values():
            finalize = getattr(iterator, 'finalize', None)
            if finalize is not None:
                finalize()

    def serialize(self, serializer):
        """Save or load iterators ('iterator:<name>'), optimizers ('optimizer:<name>'), models
        ('model:<name>') and the iteration count."""
        for name, iterator in self._iterators.items():
            iterator.serialize(serializer['iterator:' + name])
        for name, optimizer in self._optimizers.items():
            optimizer.serialize(serializer['optimizer:' + name])
            optimizer.target.serialize(serializer['model:' + name])
        self.iteration = int(serializer('iteration', self.iteration))
