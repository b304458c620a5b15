"""Web push subscriptions: where a browser's push service takes notices for one person's device (docs/push.md)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import utcnow


class PushSubscription(db.Model):
    """One browser's PushSubscription, tied to the person and the app's device row that made it.

    ``endpoint`` is a capability URL (whoever knows it can send to the browser): it is never logged, audited
    or shown. ``p256dh`` and ``auth`` are the browser's keys that each payload is encrypted to.
    """

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(Text, unique=True)
    p256dh: Mapped[str] = mapped_column(String(100))  # base64url of the 65-byte P-256 point
    auth: Mapped[str] = mapped_column(String(32))  # base64url of the 16-byte secret
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column()
    # Failed sends in a row, and when the next may be tried (backing off; a push service's Retry-After).
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    user_agent: Mapped[str | None] = mapped_column(String(400))
