from bff.domain.notifications.controllers import NotificationController
from bff.domain.notifications.services import NOTIFY_STATUSES, queue

__all__ = ["NOTIFY_STATUSES", "NotificationController", "queue"]
