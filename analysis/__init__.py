"""Physics analysis of the segmentation: accuracy, Michel electrons, spectra, tables, plots."""
