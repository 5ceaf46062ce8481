"""ParallelUpdater: data-parallel steps over several devices of one process (Chainer's)."""
import contextlib
import copy

from dchain import backend
from dchain.config import force_backprop_mode
from dchain.dataset import call_converter, concat_examples
from dchain.training.updaters.standard_updater import StandardUpdater


def _on(device):
    """Make ``device`` current for a block (CuPy's device context; nothing on the CPU)."""
    return getattr(device, 'device', None) or contextlib.nullcontext()


class ParallelUpdater(StandardUpdater):
    """Split each mini-batch over several models, one per device, and update the main one.

    Each iteration reads one batch from the 'main' iterator and gives model ``i`` (of ``n``)
    the examples ``batch[i::n]``, converted onto its device. Every model computes its loss
    and gradients; the gradients of the other models are added into the main model's (a sum,
    as in Chainer, not a mean), the 'main' optimizer takes one step, and the main model's
    parameters are copied back into the others. The devices may be GPUs, or all the CPU.

    The other models report under their names, e.g. ``second/loss`` beside ``main/loss``.

    Args:
        iterator: an Iterator, or a dict of them with a 'main' one.
        optimizer: an Optimizer set up with the main model, or a dict with a 'main' one.
        converter: ``converter(examples, device)`` -> arrays, applied to each part
            (called as ``dataset.call_converter`` does).
        models (dict): the models by name, the 'main' one being the optimizer's target; when
            None, the main model is copied (``copy.deepcopy``) for every other device.
        devices (dict): the device of each model by name ('main' required), e.g.
            ``{'main': 0, 'second': 1}`` or ``{'main': '@numpy', 'second': '@numpy'}``.
        loss_func: the loss of each part; each model itself when None.
        loss_scale (float): loss scaling factor for mixed precision.
        auto_new_epoch (bool): call ``optimizer.new_epoch(auto=True)`` at each epoch end.
    """

    def __init__(self, iterator, optimizer, converter=concat_examples, models=None,
                 devices=None, loss_func=None, loss_scale=None, auto_new_epoch=True):
        super().__init__(iterator, optimizer, converter=converter, loss_func=loss_func,
                         loss_scale=loss_scale, auto_new_epoch=auto_new_epoch)
        main_optimizer = self._optimizers.get('main')
        if main_optimizer is None:
            raise ValueError("ParallelUpdater: needs an optimizer named 'main', got {}".format(
                sorted(self._optimizers)))
        main = main_optimizer.target
        if models is None:
            if devices is None:
                raise ValueError('ParallelUpdater: give devices (a dict of devices by name, '
                                 "with a 'main' one) or models, got neither")
            if not isinstance(devices, dict) or 'main' not in devices:
                raise ValueError("ParallelUpdater: devices must be a dict with a 'main' key, "
                                 'got {!r}'.format(devices))
            devices = {name: backend.get_device(device) for name, device in devices.items()}
            models = {'main': main}
            for name, device in devices.items():
                if name != 'main':
                    other = copy.deepcopy(main)
                    other.to_device(device)
                    models[name] = other
            main.to_device(devices['main'])
        else:
            if not isinstance(models, dict) or models.get('main') is not main:
                raise ValueError("ParallelUpdater: models must be a dict whose 'main' model is "
                                 "the 'main' optimizer's target")
            devices = devices or {}
            if set(devices) != set(models):
                raise ValueError('ParallelUpdater: devices must name the same models as models, '
                                 'got {} and {}'.format(sorted(devices), sorted(models)))
            devices = {name: backend.get_device(device) for name, device in devices.items()}
        # main first, then the others in the order given, as Chainer splits the batch
        self._models = dict([('main', models['main'])] +
                            [(name, model) for name, model in models.items() if name != 'main'])
        self._devices = devices
        self.loss_scale = loss_scale

    def connect_trainer(self, trainer):
        """Register the other models with the trainer's reporter under their names."""
        main = self._optimizers['main'].target
        for name, model in self._models.items():
            if model is not main:
                trainer.reporter.add_observer(name, model)

    def update_core(self):
        """One step: every model on its part of the batch, gradients summed into main."""
        optimizer = self._optimizers['main']
        main = optimizer.target
        others = [model for model in self._models.values() if model is not main]
        iterator = self._iterators['main']
        batch = iterator.next()
        n = len(self._models)
        parts = {name: call_converter(self.converter, batch[i::n], self._devices[name])
                 for i, name in enumerate(self._models)}
        losses = []
        for name, model in self._models.items():
            model.cleargrads()
            in_arrays = parts[name]
            loss_func = self.loss_func or model
            with force_backprop_mode(), _on(self._devices[name]):
                if isinstance(in_arrays, tuple):
                    loss = loss_func(*in_arrays)
                elif isinstance(in_arrays, dict):
                    loss = loss_func(**in_arrays)
                else:
                    loss = loss_func(in_arrays)
            losses.append(loss)
        for model in self._models.values():
            model.cleargrads()  # parameters initialized lazily by the forward pass included
        for loss in losses:
            loss.backward(loss_scale=self.loss_scale)
        del losses
        for model in others:
            main.addgrads(model)
        if self.loss_scale is not None:
            for param in main.params(False):
                if param.grad is not None:
                    param.grad /= self.loss_scale
        optimizer.update()
        for model in others:
            model.copyparams(main)
        if self.auto_new_epoch and iterator.is_new_epoch:
            optimizer.new_epoch(auto=True)
