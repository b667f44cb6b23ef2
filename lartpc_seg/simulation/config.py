"""The simulator's configuration: one dataclass, built from a plain mapping and checked."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from lartpc_seg.constants import CHARGE_SPREAD_VOX, VOXEL_THRESHOLD_MEV
from lartpc_seg.simulation.voxelize import VOXEL_LABEL_RULES

#: Species a vertex particle can be, with the PDG codes drawn for it (charge chosen evenly,
#: except muons, whose sign follows ``mu_plus_fraction``; a ``lepton`` is e−, e+, μ− or μ+
#: evenly, as the lepton entry of DeepLearnPhysics' MultiPartVertex configurations).
VERTEX_SPECIES = ("muon", "pion", "proton", "electron", "photon", "pi0", "lepton")


@dataclass
class SimulationConfig:
    """Knobs of the parametrised LArTPC simulation (lengths in voxels, energies in MeV).

    Event composition mimics the DeepLearnPhysics MPV/MPR generator (docs/physics.md §7): one
    multi-particle vertex, cosmic-like tracks crossing the volume, and extra muons that stop
    inside it (the Michel enrichment). Every position and direction is uniform/isotropic and
    every kinetic energy flat in its range.

    Attributes
    ----------
    grid : int
        Voxels per side of the cube (3 mm voxels).
    voxel_threshold_mev : float
        Voxels with less deposited energy are dropped. Default: three times the energy
        equivalent of a wire's readout noise (``constants.VOXEL_THRESHOLD_MEV``, 0.040 MeV).
    voxel_label : str
        Label of a voxel that several particles deposited in: ``priority`` (default), the
        highest class (Michel > delta > shower > MIP > HIP) among the particles whose true,
        unspread deposit points lie in the voxel, as the paper's label maker (Supera with
        ``UseTruePosition``, LArCV2 ``SegLabelFiveTypes``), and for a voxel only the charge
        spread reaches, the class of the particle that put the most charge in it; or
        ``dominant``, the class of that particle for every voxel (docs/physics.md §8).
    delta_min_voxels : int
        A δ ray with fewer voxels of its own (voxels its track did not also deposit in) is
        labelled as the track that emitted it, the rule of DeepLearnPhysics' label maker
        (Supera ``DeltaSize``, default 10): below ~3 MeV a δ electron stays inside the track's
        1-2-voxel width. 0 (default) keeps every δ ray above ``delta_cut_mev`` as delta.
    transverse_sigma_vox : float
        Gaussian spread (per axis, voxels) of the charge of every deposit point: transverse
        diffusion over a 1 m drift (``constants.CHARGE_SPREAD_VOX``, 0.29 voxel), which makes
        tracks 1–2 voxels wide (docs/physics.md §8). Labels come from the
        unspread points (``voxel_label``).
    step_mm : float
        Tracking step of charged particles.
    landau_sigma : float
        Relative Landau-like spread of one step's deposit.
    delta_cut_mev : float
        δ rays above this kinetic energy are produced explicitly (below: continuous loss).
    electron_track_cut_mev : float
        Electrons below this kinetic energy are deposited as a short straight blob, not tracked.
    brems_cut_mev : float
        Smallest bremsstrahlung photon energy emitted (softer radiation deposited locally).
    photon_cut_mev : float
        Photons below this energy are absorbed at their next interaction point.
    vertex_particles : [int, int]
        Inclusive range of the number of vertex particles.
    vertex_species : dict of str to float
        Relative weights of the vertex species (keys from ``VERTEX_SPECIES``). The order of
        the keys is the order of the draw.
    vertex_multiplicity : dict of str to [int, int]
        Fewest and most particles of a species per vertex, as DeepLearnPhysics' ParticleBomb
        (``NumRange``): every species first gets its fewest, the rest of the vertex's particles
        are drawn by weight among the species below their most. Species not named are
        unlimited; {} (default) draws every particle by weight.
    vertex_margin_vox : float
        Distance of the vertex from the faces of the cube.
    muon_ke, pion_ke, proton_ke, electron_ke, photon_ke, pi0_ke, lepton_ke : [float, float]
        Kinetic-energy ranges of the vertex species.
    cosmic_tracks : [int, int]
        Inclusive range of cosmic-like tracks (start anywhere in the cube, isotropic).
    cosmic_proton_fraction : float
        Fraction of cosmic-like tracks that are protons (the rest are muons).
    cosmic_muon_ke, cosmic_proton_ke : [float, float]
        Their kinetic-energy ranges.
    stopping_muons : [int, int]
        Inclusive range of extra muons placed so that their straight-line range ends inside the
        cube (the Michel enrichment).
    stopping_muon_ke : [float, float]
        Their kinetic-energy range (clipped to what fits in the cube).
    stopping_muon_margin_vox : float
        Distance from the faces within which stopping muons start and end, voxels. A wide margin
        is a fiducial volume: the Michel electron's bremsstrahlung photons (12-30 cm free path)
        then mostly convert inside the cube instead of escaping.
    mu_plus_fraction : float
        Fraction of μ+ among all muons (μ+ always yields a Michel electron, μ− 26 % of the time).
    capture_photons : [int, int]
        γ rays emitted where a μ− is captured (the other 74 %) or a stopped π− is absorbed,
        drawn uniformly in the range: de-excitation of the residual nucleus and capture of the
        emitted neutrons on ⁴⁰Ar give a few MeV of γ rays (docs/physics.md §6). Their Compton
        blobs near a track's end look like a Michel electron's bremsstrahlung photons but are
        Shower in both label sets. Default [0, 0] (none).
    capture_photon_mev : [float, float]
        Energy range of each capture γ, MeV (uniform; an approximation of the line spectrum).
    ambient_photons : [int, int]
        γ rays born anywhere in the cube (uniform position, isotropic), drawn uniformly in the
        range: a stand-in for the low-energy γ activity of a cosmic-ray-exposed detector, such
        as the 6.1 MeV cascades of neutrons captured on ⁴⁰Ar (docs/physics.md §7, a knob); their
        number is a choice of the study, not a measured rate.
        Their Compton blobs are Shower in both label sets and, unlike the capture γ rays, bear
        no relation to where a muon stopped or whether it decayed. Default [0, 0].
    ambient_photon_mev : [float, float]
        Energy range of each ambient γ, MeV (uniform; the strongest lines of the ⁴⁰Ar(n, γ)
        cascade, which sums to 6.1 MeV, lie between ~0.17 and ~4.7 MeV [M]).
    """

    grid: int = 192
    voxel_threshold_mev: float = VOXEL_THRESHOLD_MEV
    voxel_label: str = "priority"
    delta_min_voxels: int = 0
    transverse_sigma_vox: float = float(CHARGE_SPREAD_VOX)
    step_mm: float = 0.6
    landau_sigma: float = 0.6
    delta_cut_mev: float = 1.0
    electron_track_cut_mev: float = 2.0
    brems_cut_mev: float = 0.2
    photon_cut_mev: float = 0.1
    vertex_particles: list[int] = field(default_factory=lambda: [1, 4])
    vertex_species: dict[str, float] = field(
        default_factory=lambda: {
            "muon": 1.0,
            "pion": 1.0,
            "proton": 2.0,
            "electron": 0.6,
            "photon": 0.6,
            "pi0": 0.3,
        }
    )
    vertex_multiplicity: dict[str, list[int]] = field(default_factory=dict)
    vertex_margin_vox: float = 10.0
    muon_ke: list[float] = field(default_factory=lambda: [20.0, 500.0])
    pion_ke: list[float] = field(default_factory=lambda: [20.0, 500.0])
    proton_ke: list[float] = field(default_factory=lambda: [20.0, 300.0])
    electron_ke: list[float] = field(default_factory=lambda: [10.0, 400.0])
    photon_ke: list[float] = field(default_factory=lambda: [10.0, 400.0])
    pi0_ke: list[float] = field(default_factory=lambda: [10.0, 200.0])
    lepton_ke: list[float] = field(default_factory=lambda: [50.0, 800.0])
    cosmic_tracks: list[int] = field(default_factory=lambda: [4, 9])
    cosmic_proton_fraction: float = 0.15
    cosmic_muon_ke: list[float] = field(default_factory=lambda: [100.0, 2000.0])
    cosmic_proton_ke: list[float] = field(default_factory=lambda: [20.0, 300.0])
    stopping_muons: list[int] = field(default_factory=lambda: [0, 1])
    stopping_muon_ke: list[float] = field(default_factory=lambda: [20.0, 150.0])
    stopping_muon_margin_vox: float = 3.0
    mu_plus_fraction: float = 0.5
    capture_photons: list[int] = field(default_factory=lambda: [0, 0])
    capture_photon_mev: list[float] = field(default_factory=lambda: [0.5, 4.0])
    ambient_photons: list[int] = field(default_factory=lambda: [0, 0])
    ambient_photon_mev: list[float] = field(default_factory=lambda: [0.5, 4.7])

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        if int(self.grid) < 8:
            raise ValueError(f"SimulationConfig.grid must be at least 8, got {self.grid}")
        for name in (
            "voxel_threshold_mev",
            "transverse_sigma_vox",
            "landau_sigma",
            "photon_cut_mev",
            "stopping_muon_margin_vox",
            "delta_min_voxels",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"SimulationConfig.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("step_mm", "delta_cut_mev", "electron_track_cut_mev", "brems_cut_mev"):
            if getattr(self, name) <= 0:
                raise ValueError(f"SimulationConfig.{name} must be > 0, got {getattr(self, name)}")
        for name in ("cosmic_proton_fraction", "mu_plus_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"SimulationConfig.{name} must lie in [0, 1]")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                if len(value) != 2 or value[0] > value[1] or value[0] < 0:
                    raise ValueError(
                        f"SimulationConfig.{f.name} must be [low, high] with 0 <= low <= high, "
                        f"got {value}"
                    )
        if self.voxel_label not in VOXEL_LABEL_RULES:
            raise ValueError(
                f"SimulationConfig.voxel_label must be one of {', '.join(VOXEL_LABEL_RULES)}, "
                f"got {self.voxel_label!r}"
            )
        unknown = set(self.vertex_species) - set(VERTEX_SPECIES)
        if unknown:
            raise ValueError(
                f"SimulationConfig.vertex_species: unknown species {sorted(unknown)} "
                f"(known: {', '.join(VERTEX_SPECIES)})"
            )
        weights = list(self.vertex_species.values())
        if any(w < 0 for w in weights) or (self.vertex_particles[1] > 0 and sum(weights) <= 0):
            raise ValueError("SimulationConfig.vertex_species weights must be >= 0, not all 0")
        for name, bounds in self.vertex_multiplicity.items():
            if name not in self.vertex_species:
                raise ValueError(
                    f"SimulationConfig.vertex_multiplicity: '{name}' is not in vertex_species"
                )
            if len(bounds) != 2 or not 0 <= bounds[0] <= bounds[1]:
                raise ValueError(
                    f"SimulationConfig.vertex_multiplicity['{name}'] must be [fewest, most] with "
                    f"0 <= fewest <= most, got {bounds}"
                )
        fewest = sum(b[0] for b in self.vertex_multiplicity.values())
        if self.vertex_particles[1] > 0 and fewest > self.vertex_particles[0]:
            raise ValueError(
                f"SimulationConfig.vertex_multiplicity asks for at least {fewest} particles, more "
                f"than vertex_particles allows ({self.vertex_particles[0]})"
            )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SimulationConfig:
        """Build a configuration from a mapping of field names (missing fields keep defaults).

        Raises
        ------
        ValueError
            Naming the first unknown key, or a value out of range.
        """
        names = {f.name: f for f in dataclasses.fields(cls)}
        for key in d:
            if key not in names:
                raise ValueError(
                    f"unknown SimulationConfig key '{key}' (known: {', '.join(names)})"
                )
        values: dict[str, Any] = {}
        for key, value in d.items():
            default = getattr(cls(), key)
            if isinstance(default, bool) or not isinstance(default, (int, float, list, dict)):
                values[key] = value
            elif isinstance(default, list):
                if not isinstance(value, (list, tuple)):
                    raise ValueError(f"SimulationConfig.{key} must be a list [low, high]")
                values[key] = [type(default[0])(v) for v in value]
            elif isinstance(default, dict) or key == "vertex_multiplicity":
                if not isinstance(value, dict):
                    raise ValueError(f"SimulationConfig.{key} must be a mapping")
                if key == "vertex_multiplicity":
                    if any(not isinstance(v, (list, tuple)) for v in value.values()):
                        raise ValueError(f"SimulationConfig.{key} values must be [fewest, most]")
                    values[key] = {str(k): [int(x) for x in v] for k, v in value.items()}
                else:
                    values[key] = {str(k): float(v) for k, v in value.items()}
            else:
                try:
                    values[key] = type(default)(value)
                except (TypeError, ValueError) as err:
                    raise ValueError(f"SimulationConfig.{key}: bad value {value!r}") from err
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain Python types (for YAML/JSON)."""
        return dataclasses.asdict(self)
