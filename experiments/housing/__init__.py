"""The housing experiment: the published 2-3-1 network on California housing, trained from the
same initial weights in every chosen framework, with per-epoch agreement measured.

``dataset``: the loader (the shipped copy of the data by default); ``protocol``: preprocessing,
split and network exactly as published; ``run``: the experiment, each framework through the
registry (:mod:`parity_tests.harness.registry`), whose adapters run an epoch as one compiled loop
(the textbook per-sample loop for NumPy, :mod:`parity_tests.frameworks.numpy.per_sample`);
``baseline``: the article's Keras defaults (RMSprop, batch 32, Glorot) reproduced by the reference;
``cli``: ``refnn housing``.
"""
