from bff.domain.employer.controllers import UnitController

__all__ = ["UnitController"]
