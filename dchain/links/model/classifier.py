"""Classifier: wraps a predictor with a loss (and an accuracy) into a trainable model."""
import numbers

from dchain import reporter
from dchain.functions.evaluation.accuracy import accuracy
from dchain.functions.loss.softmax_cross_entropy import softmax_cross_entropy
from dchain.link import Chain


class Classifier(Chain):
    """A model that computes the loss of a predictor's output against labels.

    ``model(*args)`` takes the labels ``t`` from ``args`` (or the keyword arguments) at
    ``label_key``, calls ``predictor`` on the rest, and returns ``lossfun(y, t)``. It reports
    ``loss`` (and ``accuracy``) through ``dchain.reporter.report``. The accuracy is computed
    only while ``compute_accuracy`` is True and the labels are integers, so a regression loss
    with float targets works as it is.

    Args:
        predictor (Link): the model to wrap (registered as the child ``predictor``).
        lossfun (callable): ``lossfun(y, t)``, softmax cross entropy by default.
        accfun (callable): ``accfun(y, t)``, accuracy by default.
        label_key (int or str): the position of the labels among the positional arguments
            (the last by default) or the name of a keyword argument.
    Attributes:
        y, loss, accuracy: the values of the latest call (None when not computed).
        compute_accuracy (bool): whether to compute and report the accuracy.
    """

    def __init__(self, predictor, lossfun=softmax_cross_entropy, accfun=accuracy, label_key=-1):
        if isinstance(label_key, bool) or not isinstance(label_key, (numbers.Integral, str)):
            raise TypeError('Classifier: label_key must be an int or a str, got {}'.format(
                type(label_key).__name__))
        super().__init__()
        self.lossfun = lossfun
        self.accfun = accfun
        self.label_key = label_key
        self.compute_accuracy = True
        self.y = None
        self.loss = None
        self.accuracy = None
        with self.init_scope():
            self.predictor = predictor

    def forward(self, *args, **kwargs):
        """Return the loss of ``predictor(*inputs)`` against the labels in the arguments."""
        label_key = self.label_key
        if isinstance(label_key, numbers.Integral):
            if not -len(args) <= label_key < len(args):
                raise ValueError('Classifier: label_key {} is out of range for {} positional '
                                 'arguments'.format(label_key, len(args)))
            index = label_key % len(args)
            t = args[index]
            args = args[:index] + args[index + 1:]
        else:
            if label_key not in kwargs:
                raise ValueError('Classifier: label_key {!r} is not among the keyword arguments '
                                 '({})'.format(label_key, ', '.join(sorted(kwargs)) or 'none'))
            t = kwargs.pop(label_key)
        self.y = None
        self.loss = None
        self.accuracy = None
        self.y = self.predictor(*args, **kwargs)
        self.loss = self.lossfun(self.y, t)
        reporter.report({'loss': self.loss}, self)
        if self.compute_accuracy and t.dtype.kind in 'iu':
            self.accuracy = self.accfun(self.y, t)
            reporter.report({'accuracy': self.accuracy}, self)
        return self.loss
