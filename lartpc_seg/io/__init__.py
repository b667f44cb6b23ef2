"""Reading and writing the project's files (docs/event-format.md): events, predictions, meta."""

from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.io.events import Event, EventFile, ParticleTable, write_events
from lartpc_seg.io.root import FileMeta

__all__ = ["Event", "EventFile", "FileMeta", "ParticleTable", "atomic_path", "write_events"]
