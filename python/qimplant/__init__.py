"""q-implant's Python side.

qimplant.torch exports the quantization parameters of a PyTorch model as the qparam.json + npy
files (and the graph description) that the q-implant tool reads.
"""

__version__ = "0.1.0"
