"""Physics constants of liquid argon and of the particles the simulator tracks.

Every constant carries its unit and its source. Tags follow docs/physics.md §1: [V] read in the
cited source, [C] computed from a verified formula or table, [M] quoted from memory of the
literature, [E] engineering estimate.
"""

from __future__ import annotations

import numpy as np

# --- Detector geometry -------------------------------------------------------------------------
#: Voxel pitch, mm (docs/study.md §1; OpenData blog) [V].
VOXEL_MM = 3.0
#: Voxel pitch, cm.
VOXEL_CM = VOXEL_MM / 10.0

# --- Liquid argon (docs/physics.md §2) ------------------------------------------------------------
#: Density, g/cm³ [V: LArSoft/larnd-sim configs].
LAR_DENSITY_G_CM3 = 1.396
#: Atomic number [V: LArSoft LArProperties].
LAR_Z = 18.0
#: Atomic mass, g/mol [V: LArSoft LArProperties].
LAR_A_G_MOL = 39.948
#: Mean excitation energy, MeV (188 eV, Geant4/ICRU) [V: LArSoft].
LAR_MEAN_EXCITATION_MEV = 188.0e-6
#: Radiation length, cm (19.55 g/cm²) [V: LArSoft (PDG)].
LAR_RADIATION_LENGTH_CM = 14.0
#: Molière radius, cm [V: Pandora constant; PDG].
LAR_MOLIERE_RADIUS_CM = 9.04
#: Critical energy of electrons, MeV [V: Pandora constant (PDG)].
LAR_CRITICAL_ENERGY_MEV = 32.84
#: Sternheimer density-effect parameters of liquid argon: -C̄, x0, x1, a, k, δ0
#: [M: PDG "Atomic and nuclear properties", liquid argon].
LAR_STERNHEIMER = {
    "cbar": 5.2146,
    "x0": 0.2000,
    "x1": 3.0000,
    "a": 0.19559,
    "k": 3.0000,
    "delta0": 0.0,
}

# --- Energy loss -------------------------------------------------------------------------------
#: K = 4π N_A r_e² m_e c², MeV cm²/mol [V: PDG RPP "Passage of particles through matter"].
BETHE_K_MEV_CM2_MOL = 0.307075
#: ½ K (Z/A) ρ, the delta-ray prefactor in LAr, MeV/cm (0.0966) [C: docs/physics.md §2].
DELTA_PREFACTOR_MEV_CM = 0.5 * BETHE_K_MEV_CM2_MOL * LAR_Z / LAR_A_G_MOL * LAR_DENSITY_G_CM3
#: Highland formula constants: θ0 = 13.6 MeV/(βcp) √(x/X0) (1 + 0.038 ln(x/X0)) [V: PDG RPP].
HIGHLAND_MEV = 13.6
HIGHLAND_LOG = 0.038

# --- Particle masses, MeV (PDG) [V: PDG RPP] ---------------------------------------------------
ELECTRON_MASS_MEV = 0.51099895
MUON_MASS_MEV = 105.6583755
PION_MASS_MEV = 139.57039
PION0_MASS_MEV = 134.9768
PROTON_MASS_MEV = 938.27208816
#: Neutron, charged and neutral kaon masses, MeV [V: PDG RPP, R. L. Workman et al., PTEP 2022,
#: 083C01].
NEUTRON_MASS_MEV = 939.56542052
KAON_MASS_MEV = 493.677
KAON0_MASS_MEV = 497.611
#: Rest masses by |PDG code|, MeV, of the particles whose mass is known here (the LArCV2 import
#: turns total into kinetic energies with it; other codes use the invariant mass of (E, p)).
MASS_BY_PDG_MEV: dict[int, float] = {
    11: ELECTRON_MASS_MEV,
    13: MUON_MASS_MEV,
    22: 0.0,
    111: PION0_MASS_MEV,
    211: PION_MASS_MEV,
    130: KAON0_MASS_MEV,
    310: KAON0_MASS_MEV,
    311: KAON0_MASS_MEV,
    321: KAON_MASS_MEV,
    2112: NEUTRON_MASS_MEV,
    2212: PROTON_MASS_MEV,
}

# --- Muon decay and capture (docs/physics.md §6) --------------------------------------------------
#: Michel electron maximum total energy (m_μ² + m_e²)/(2 m_μ), MeV (52.83) [V/C].
MICHEL_ENDPOINT_MEV = (MUON_MASS_MEV**2 + ELECTRON_MASS_MEV**2) / (2.0 * MUON_MASS_MEV)
#: Free muon decay rate, 1/μs (τ = 2.1969811 μs) [V: Geant4, PDG 2012].
MUON_DECAY_RATE_PER_US = 1.0 / 2.1969811
#: μ− nuclear capture rate in ⁴⁰Ar, 1/μs [V: Suzuki et al., PRC 35 (1987) 2212, via Geant4].
MUON_CAPTURE_RATE_AR_PER_US = 1.2727
#: μ− bound decay rate in Ar, 1/μs (free × (1 − 2.5 (Z_eff α)²), Z_eff = 14.89) [C].
MUON_BOUND_DECAY_RATE_AR_PER_US = 0.4417
#: Effective nuclear charge the 1s muon of argon sees (Ford & Wills, Nucl. Phys. 35 (1962) 295,
#: as tabulated in Geant4 G4MuonMinusBoundDecay) [V].
MUON_ZEFF_AR = 14.89
#: Fine-structure constant [V: PDG RPP].
FINE_STRUCTURE = 1.0 / 137.035999
#: Binding energy of the 1s muon in argon, MeV: (Z_eff α)² m_μ / 2 of a hydrogen-like atom of
#: charge Z_eff (0.62 MeV) [C].
MUON_BINDING_AR_MEV = 0.5 * (MUON_ZEFF_AR * FINE_STRUCTURE) ** 2 * MUON_MASS_MEV
#: Momentum scale of the 1s muon in argon, MeV/c: p0 = Z_eff α m_μ (11.5 MeV/c); its momentum
#: density is that of hydrogen's 1s state, ∝ p² / (1 + (p/p0)²)⁴ [C].
MUON_ORBIT_MOMENTUM_AR_MEV = MUON_ZEFF_AR * FINE_STRUCTURE * MUON_MASS_MEV
#: Probability that a stopped μ− decays (emits a Michel electron) rather than being captured
#: (0.4417 / (0.4417 + 1.2727) = 0.258) [C: docs/physics.md §2].
MU_MINUS_DECAY_PROBABILITY = MUON_BOUND_DECAY_RATE_AR_PER_US / (
    MUON_BOUND_DECAY_RATE_AR_PER_US + MUON_CAPTURE_RATE_AR_PER_US
)
#: Kinetic energy of the μ+ from π+ → μ+ ν at rest, MeV [C: two-body kinematics].
PION_DECAY_MUON_KE_MEV = (PION_MASS_MEV**2 + MUON_MASS_MEV**2) / (
    2.0 * PION_MASS_MEV
) - MUON_MASS_MEV

# --- π− absorption at rest (docs/physics.md §6) --------------------------------------
#: Mean separation energy of a nucleon from an argon nucleus, MeV [M: nuclear mass tables,
#: ~8.5 MeV per nucleon binding].
NUCLEON_SEPARATION_MEV = 8.0
#: Ratio of π− absorption on an isospin-0 (pn) pair to that on an isospin-1 pair, measured in
#: ⁴He: r = 4.0 (+0.8 −1.5) [V: abstract, doi 10.1016/0375-9474(95)00068-C].
PION_ABSORPTION_I0_TO_I1 = 4.0
#: Probability that a stopped π− in ⁴⁰Ar is absorbed on a pp pair (π− pp → p n: one proton
#: leaves) rather than a pn pair (π− pn → n n: nothing visible), from the pair counts of
#: Z = 18, N = 22 weighted by the ratio above: 1 / (1 + r · Z·N / (Z(Z−1)/2)) = 0.088 [C].
PION_ABSORPTION_PP_PROBABILITY = 1.0 / (1.0 + PION_ABSORPTION_I0_TO_I1 * 18 * 22 / (18 * 17 / 2))

# --- Charge spread (docs/physics.md §8) -------------------------------------------
#: Transverse diffusion coefficient of drifting electrons in LAr at 500 V/cm, cm²/μs (12 cm²/s)
#: [V: Wire-Cell LAr parameters, WireCell/wire-cell-tests sim/six/params.jsonnet].
LAR_TRANSVERSE_DIFFUSION_CM2_US = 12.0e-6
#: Electron drift velocity in LAr at 500 V/cm, cm/μs [V: same file, 1.6 mm/μs].
LAR_DRIFT_VELOCITY_CM_US = 0.16
#: Longest drift of the detector the charge spread stands for, cm: 1 m, between ArgoNeuT's
#: 0.47 m and ICARUS' 1.5 m [E; drift lengths M].
REFERENCE_DRIFT_CM = 100.0
#: RMS transverse spread of the charge, voxels, over drifts uniform in [0, REFERENCE_DRIFT_CM]:
#: √(2 D_T ⟨t⟩) with ⟨t⟩ = L / (2 v), i.e. √(D_T L / v) = 0.087 cm = 0.29 voxel [C].
CHARGE_SPREAD_VOX = (
    np.sqrt(LAR_TRANSVERSE_DIFFUSION_CM2_US * REFERENCE_DRIFT_CM / LAR_DRIFT_VELOCITY_CM_US)
    / VOXEL_CM
)

# --- Readout noise and the voxel threshold (docs/physics.md §8) ---------------
#: Equivalent noise charge of a wire after noise filtering, electrons: below 400 e− for
#: MicroBooNE's longest (4.7 m) wires [V: MicroBooNE, JINST 12 (2017) P08003, arXiv:1705.07341].
READOUT_NOISE_ELECTRONS = 400.0
#: Mean energy per ionisation electron, eV [V: LArSoft, 23.6 eV].
W_ION_EV = 23.6
#: Fraction of ionisation electrons escaping recombination for a MIP (2.1 MeV/cm) at 0.5 kV/cm,
#: modified box model with the ArgoNeuT parameters (α = 0.930, β = 0.212) [C: docs/physics.md §2].
RECOMBINATION_MIP = 0.70
#: Deposited energy equivalent to the readout noise, MeV (0.0135 MeV).
READOUT_NOISE_MEV = READOUT_NOISE_ELECTRONS * W_ION_EV * 1.0e-6 / RECOMBINATION_MIP
#: Voxel threshold: three times the noise-equivalent energy (a gaussian noise fluctuation passes
#: it 0.13 % of the time), MeV (0.040) [C].
VOXEL_THRESHOLD_MEV = 3.0 * READOUT_NOISE_MEV

# --- Reference range tables (docs/physics.md §3), cm ----------------------------------------------
#: Kinetic energies of the CSDA range tables, MeV.
RANGE_TABLE_KE_MEV = np.array([10, 20, 30, 40, 50, 80, 100, 150, 200, 300, 400, 500, 1000.0])
#: Muon CSDA range in LAr, cm [V: PDG muon table, as quoted in LArSoft TrackMomentumCalculator;
#: the 150 MeV entry is approximate].
MUON_RANGE_TABLE_CM = np.array(
    [0.70, 2.38, 4.73, 7.58, 10.8, 22.1, 30.4, 52.0, 76.2, 123.6, 170.9, 217.4, 441.5]
)
#: Proton CSDA range in argon, cm (NaN: no entry in the table used) [V: NIST PSTAR].
PROTON_RANGE_TABLE_CM = np.array(
    [0.135, 0.45, 0.93, 1.55, np.nan, 5.28, 7.82, 15.9, 26.0, 51.2, 81.5, 115.6, 319.0]
)

# --- Delta rays: PDG rate table (docs/physics.md §3) [C] ------------------------------------------
#: Muon momenta of the table, MeV/c.
DELTA_TABLE_P_MEV = np.array([300.0, 500.0, 1000.0, 3000.0])
#: Thresholds of the table, MeV.
DELTA_TABLE_T_MEV = np.array([0.5, 1.0, 3.0, 10.0])
#: Number of delta rays above each threshold per cm (rows: momenta; columns: thresholds).
DELTA_TABLE_PER_CM = np.array(
    [
        [0.17, 0.070, 0.011, 0.0],
        [0.18, 0.083, 0.020, 0.002],
        [0.19, 0.091, 0.028, 0.006],
        [0.19, 0.096, 0.031, 0.009],
    ]
)

# --- Photon attenuation (docs/physics.md §5; Klein–Nishina + Bethe–Heitler) -----------------------
#: Photon energies of the attenuation table, MeV. Points below 0.5 MeV (photo-electric included)
#: are [M: NIST XCOM argon]; points above 50 MeV approach 9/7 X0 [E].
PHOTON_TABLE_E_MEV = np.array(
    [0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0, 300.0, 1000.0, 1.0e5]
)
#: Attenuation length in LAr, cm [C: docs/physics.md §5 for 0.5–50 MeV].
PHOTON_ATTENUATION_CM = np.array(
    [4.4, 6.0, 9.1, 12.4, 17.6, 21.3, 25.7, 29.4, 29.3, 28.1, 26.1, 23.5, 20.5, 18.9, 18.0]
)
#: Fraction of interactions that are pair conversions [C: docs/physics.md §5 for 0.5–50 MeV;
#: E above].
PHOTON_PAIR_FRACTION = np.array(
    [0.0, 0.0, 0.0, 0.0, 0.02, 0.07, 0.20, 0.44, 0.67, 0.77, 0.85, 0.92, 0.97, 0.99, 1.0]
)

# --- Bremsstrahlung ----------------------------------------------------------------------------
#: Scale of the radiative loss relative to E/X0 at Michel energies (incomplete screening)
#: [E: docs/physics.md §5].
BREMS_LOSS_SCALE = 0.8
