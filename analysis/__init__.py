"""Physics analysis of the segmentation: accuracy, Michel electrons, spectra, tables, plots.

Subpackages :mod:`analysis.accuracy` and :mod:`analysis.michel`; shared
:mod:`analysis.bootstrap`, :mod:`analysis.tables`, :mod:`analysis.plotting` and
:mod:`analysis.reference`; the layout is drawn in docs/architecture.md.
"""
