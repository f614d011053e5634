"""The ``fastrelu`` command line (installed as the ``fastrelu_cli`` package)."""
