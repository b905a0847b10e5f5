"""A small harness per command beyond ``run``: a user's own pipeline (``profile``, with
``pipelines``), the 2 GiB proof (``limits``) and the step's calibration (``calibrate``)."""
