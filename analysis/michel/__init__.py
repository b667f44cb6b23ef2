"""The Michel electron analysis (docs/study.md §6), in the order a run goes through it.

- :mod:`.reconstruct`: candidates, matching and true energies of one event;
- :mod:`.run`: the procedure over event files, in parallel over chunks of events;
- :mod:`.metrics`: purity and efficiency with their intervals;
- :mod:`.calibration`: the energy scale fitted on the training split;
- :mod:`.spectrum`: histograms and figures of the energies;
- :mod:`.outputs`: ``michel.root``, ``michel.parquet``, ``metrics.json``;
- :mod:`.table`: the table of all variants;
- :mod:`.benchmark`: synthetic events for the speed benchmark;
- commands: :mod:`.command` (``michel``), :mod:`.calibration_command`
  (``michel-calibration``), :mod:`.table_command` (``michel-table``),
  :mod:`.benchmark_command` (``michel-benchmark``).
"""
