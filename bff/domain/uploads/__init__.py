from bff.domain.uploads.controllers import DocumentController

__all__ = ["DocumentController"]
