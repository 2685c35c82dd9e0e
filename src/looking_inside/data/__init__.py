"""Stage 1, data: which files make a data set, their identity, and reading them.

``datasets`` is the one home of each data set's facts; ``files`` identifies the
files without numpy (cheap warm builds); ``readers`` parses them with numpy alone
(no torch, so rendering never imports it); ``load`` puts it together and downloads
with torchvision where allowed.
"""
