"""A failed sample's case built the way the scheduler records one (no browser, no capture):
a plan item bought by hand, received with its seal photo, sent to a lab, failed with the
lab's report file."""

from __future__ import annotations

from typing import Any

from scheduler import purchases
from store.db import Database
from tests.factory.shop import small_world

SEAL_PHOTO = b"\x89PNG\r\n\x1a\n" + b"seal photo of S-0001 " * 40
LAB_REPORT = b"%PDF-1.4\n% lab report for S-0001\n" + b"0" * 500 + b"\n%%EOF\n"


def failed_sample_case(db: Database, settings: Any, *, report: bool = True,
                       code: str = "mall") -> int:
    """A plan item bought by hand, received with its seal photo, tested and failed: the
    case opened for it has no capture of any kind."""
    with db.session() as s:
        world = small_world(s, listings=3, code=code)
        rep = purchases.create_purchase_tasks(s, world.plan_id, actor="li.na", assign=False)
        pid = rep.created[0]
    with db.session() as s:
        purchases.mark_ordered(s, pid, "ORD-778899", "29.90", "CNY", actor="li.na")
        photo = purchases.store_document(s, SEAL_PHOTO, settings.artifacts_dir, "seal_photo")
        purchases.receive_sample(s, pid, "S-0001", seal_photo_sha256=photo, actor="chen.jie")
        purchases.send_to_lab(s, pid, "浙江省质检院", actor="chen.jie")
        sha = (purchases.store_document(s, LAB_REPORT, settings.artifacts_dir, "lab_report")
               if report else None)
        _res, case = purchases.record_lab_result(
            s, pid, "fail", defects=[{"code": "4.3", "text": "可触及锐利边缘"}],
            clauses=["GB 6675.2-2014"], actor="li.na", report_sha256=sha)
        assert case is not None
        return case.id
