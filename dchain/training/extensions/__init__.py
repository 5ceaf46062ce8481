"""Trainer extensions: logging, printing, evaluation, snapshots, plots and schedules."""
from dchain.training.extensions.evaluator import Evaluator  # noqa: F401
from dchain.training.extensions.exponential_shift import ExponentialShift  # noqa: F401
from dchain.training.extensions.fail_on_nonnumber import FailOnNonNumber  # noqa: F401
from dchain.training.extensions.linear_shift import LinearShift  # noqa: F401
from dchain.training.extensions.log_report import LogReport  # noqa: F401
from dchain.training.extensions.plot_report import PlotReport  # noqa: F401
from dchain.training.extensions.print_report import PrintReport  # noqa: F401
from dchain.training.extensions.progress_bar import ProgressBar  # noqa: F401
from dchain.training.extensions import snapshot_writers  # noqa: F401
from dchain.training.extensions.snapshot import snapshot, snapshot_object  # noqa: F401
from dchain.training.extensions.value_observation import observe_lr, observe_value  # noqa: F401
from dchain.training.extensions.computational_graph import DumpGraph  # noqa: F401
from dchain.training.extensions.computational_graph import DumpGraph as dump_graph  # noqa: F401
from dchain.training.extensions.micro_average import MicroAverage  # noqa: F401
from dchain.training.extensions.timeline import Timeline  # noqa: F401
