"""The growing particle table of one simulated event, and how deposits inherit their label."""

from __future__ import annotations

import numpy as np

from lartpc_seg.io.events import ParticleTable
from lartpc_seg.labels import Label, Process, particle_class

#: Processes by which an electromagnetic cascade makes particles. Their deposits carry the label
#: of the particle that started the cascade (docs/study.md §1: a Michel electron's bremsstrahlung
#: photons and their Compton electrons are Michel in the original labels).
EM_CASCADE_PROCESSES = frozenset(
    {Process.eBrem, Process.compt, Process.conv, Process.phot, Process.eIoni, Process.annihil}
)


class ParticleStore:
    """Particles of one event, appended in batches; capacities grow by doubling.

    Each particle has its own class (``particle_class(pdg, process)``, a ``None`` resolved to its
    parent's) and a deposit label: the class its voxels get, equal to the own class except for
    particles made inside an electromagnetic cascade, which take their parent's deposit label.
    Positions are in cm.
    """

    def __init__(self, capacity: int = 256) -> None:
        self.n = 0
        self.pdg = np.zeros(capacity, np.int32)
        self.parent = np.zeros(capacity, np.int32)
        self.process = np.zeros(capacity, np.int8)
        self.cls = np.zeros(capacity, np.int8)
        self.label = np.zeros(capacity, np.int8)
        self.ke = np.zeros(capacity, np.float64)
        self.start = np.zeros((capacity, 3), np.float64)
        self.end = np.zeros((capacity, 3), np.float64)
        self._class_cache: dict[tuple[int, int], int] = {}

    def _grow(self, need: int) -> None:
        cap = len(self.pdg)
        if need <= cap:
            return
        new = max(need, 2 * cap)
        for name in ("pdg", "parent", "process", "cls", "label", "ke", "start", "end"):
            old = getattr(self, name)
            arr = np.zeros((new, *old.shape[1:]), old.dtype)
            arr[: self.n] = old[: self.n]
            setattr(self, name, arr)

    def _own_class(self, pdg: int, process: int) -> int:
        key = (pdg, process)
        if key not in self._class_cache:
            cls = particle_class(pdg, Process(process))
            self._class_cache[key] = -1 if cls is None else int(cls)
        return self._class_cache[key]

    def add(
        self,
        pdg: np.ndarray | int,
        parent: np.ndarray | int,
        process: Process,
        ke_mev: np.ndarray | float,
        start_cm: np.ndarray,
    ) -> np.ndarray:
        """Append particles made by one process; return their indices.

        Parameters
        ----------
        pdg : int or (k,) int
            PDG codes.
        parent : int or (k,) int
            Parent indices (-1 for primaries).
        process : Process
            Creation process, shared by the batch.
        ke_mev : float or (k,) float
            Initial kinetic energies, MeV.
        start_cm : (3,) or (k, 3) float
            Start points, cm (the end point starts equal to it).
        """
        start = np.atleast_2d(np.asarray(start_cm, np.float64))
        k = len(start)
        pdg = np.broadcast_to(np.asarray(pdg, np.int32), (k,))
        parent = np.broadcast_to(np.asarray(parent, np.int32), (k,))
        self._grow(self.n + k)
        idx = np.arange(self.n, self.n + k)
        self.pdg[idx] = pdg
        self.parent[idx] = parent
        self.process[idx] = int(process)
        self.ke[idx] = ke_mev
        self.start[idx] = start
        self.end[idx] = start
        own = np.array([self._own_class(int(p), int(process)) for p in pdg], np.int8)
        has_parent = parent >= 0
        parent_cls = np.where(has_parent, self.cls[np.maximum(parent, 0)], Label.SHOWER)
        parent_label = np.where(has_parent, self.label[np.maximum(parent, 0)], Label.SHOWER)
        self.cls[idx] = np.where(own >= 0, own, parent_cls)
        if process in EM_CASCADE_PROCESSES:
            self.label[idx] = np.where(has_parent, parent_label, self.cls[idx])
        else:
            self.label[idx] = np.where(own >= 0, own, parent_label)
        self.n += k
        return idx

    def table(self, edep_mev: np.ndarray, cm_to_vox: float) -> ParticleTable:
        """The event-format particle table (positions converted to voxel units)."""
        n = self.n
        return ParticleTable(
            pdg=self.pdg[:n].copy(),
            parent=self.parent[:n].copy(),
            process=self.process[:n].copy(),
            cls=self.cls[:n].copy(),
            ke=self.ke[:n].astype(np.float32),
            start=(self.start[:n] * cm_to_vox).astype(np.float32),
            end=(self.end[:n] * cm_to_vox).astype(np.float32),
            edep=np.asarray(edep_mev[:n], np.float32),
        )
