"""Shared pytest set-up: the q-implant binary under test comes from QIMPLANT_CLI (set by ctest)."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))
