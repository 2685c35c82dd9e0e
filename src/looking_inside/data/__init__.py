"""Stage 1, data: each data set's facts (``datasets``), its files' identity without
numpy (``files``), parsing them without torch (``readers``), and downloading and
loading (``load``).
"""
