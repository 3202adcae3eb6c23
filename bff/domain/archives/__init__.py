from bff.domain.archives.controllers import ArchiveController

__all__ = ["ArchiveController"]
