"""The audit trail (MLPS level 3 / 等保三级): an append-only, hash-chained table of who did what, when, with what
outcome, from where. See ``docs/audit.md``; ``chain.py`` holds the chain, ``services.py`` who is acting."""

from bff.domain.audit.chain import SYSTEM, Entry, Who
from bff.domain.audit.services import (
    bind,
    current,
    denial_entry,
    denial_task,
    record,
    record_in,
    record_operator_action_in,
    record_request,
    who_of,
)

__all__ = [
    "SYSTEM",
    "Entry",
    "Who",
    "bind",
    "current",
    "denial_entry",
    "denial_task",
    "record",
    "record_in",
    "record_operator_action_in",
    "record_request",
    "who_of",
]
