"""The words of each message: short, in Chinese, naming the application by its reference number only (never the
person's name or ID number: an SMS or a lock-screen notification can be read by anyone holding the phone)."""

from __future__ import annotations

import json
from typing import Any

from bff.domain.applications.schemas import KIND_NAMES, KIND_STATUS_LABELS, STATUS_LABELS

SMS_SIGNATURE = "【档案服务】"


def status_label(kind: str, status: str) -> str:
    return KIND_STATUS_LABELS.get((kind, status)) or STATUS_LABELS.get(status, status)


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, "档案业务")


def sms_text(kind: str, reference_no: str, status: str) -> str:
    """「【档案服务】您的档案转递申请（SQ…）状态更新：档案已转出。请登录档案服务查看详情。」"""
    return (f"{SMS_SIGNATURE}您的{kind_name(kind)}申请（{reference_no}）状态更新：{status_label(kind, status)}。"
            "请登录档案服务查看详情。")


def push_message(application_id: str, kind: str, reference_no: str, status: str) -> dict[str, Any]:
    """What the service worker shows; ``tag`` makes a newer message replace an older one about the same application."""
    return {
        "title": f"{kind_name(kind)} · {status_label(kind, status)}",
        "body": f"申请编号 {reference_no}，点按查看详情",
        "url": f"/applications/{application_id}",
        "tag": application_id,
    }


def push_payload(application_id: str, kind: str, reference_no: str, status: str) -> bytes:
    return json.dumps(push_message(application_id, kind, reference_no, status), ensure_ascii=False).encode()
