"""gradquiz: learn how PyTorch gradients really behave, settled by running PyTorch."""

__version__ = "0.1.0"
