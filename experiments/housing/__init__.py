"""The housing experiment: the published 2-3-1 network on California housing, trained from the
same initial weights in NumPy, PyTorch and Keras, with per-epoch agreement measured.

``protocol``: data, split and network exactly as published; ``numpy_sgd``: the textbook
per-sample loop; ``torch_sgd`` / ``keras_sgd``: whole-epoch compiled loops using each
framework's autograd and optimizer; ``run``: the experiment; ``baseline``: the article's Keras
defaults (RMSprop, batch 32, Glorot) reproduced by the reference; ``cli``: ``refnn housing``.
"""
