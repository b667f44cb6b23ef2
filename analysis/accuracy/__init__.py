"""Per-class accuracy of the variants (docs/study.md §5).

- :mod:`.types`: what is scored (a variant's predictions against a set of true labels);
- :mod:`.pairing`: the event files paired with every variant's prediction files;
- :mod:`.confusion`, :mod:`.statistics`: confusion counts, accuracy and bootstrap intervals;
- :mod:`.formatting`: the table as CSV, Markdown, LaTeX and JSON, and the confusion figures;
- :mod:`.by_energy`: the accuracy of δ-ray and Michel voxels by their electron's energy;
- commands: :mod:`.command` (``accuracy``), :mod:`.by_energy_command` (``accuracy-by-energy``).
"""
