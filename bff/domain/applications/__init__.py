from bff.domain.applications.controllers import ApplicationController

__all__ = ["ApplicationController"]
