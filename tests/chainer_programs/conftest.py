"""The ported Chainer programs are data for the tests here, never collected as tests."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

collect_ignore_glob = ['programs/*']
