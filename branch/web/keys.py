"""Typed keys for what the application holds (no module globals)."""

from __future__ import annotations

import weakref

from aiohttp import web

from branch.config import Settings
from branch.delivery.base import Delivery
from branch.live.base import LiveStore
from branch.metrics import Metrics
from branch.records.base import RecordStore
from branch.service import BranchService
from branch.web.connection import PageConnection
from branch.web.outbox import Outbox

SETTINGS = web.AppKey("settings", Settings)
HUB = web.AppKey("hub", Delivery)
LIVE = web.AppKey("live", LiveStore)
RECORDS = web.AppKey("records", RecordStore)
SERVICE = web.AppKey("service", BranchService)
METRICS = web.AppKey("metrics", Metrics)
PAGES: web.AppKey[weakref.WeakSet[PageConnection]] = web.AppKey("pages")
OUTBOX = web.AppKey("outbox", Outbox)
# The origins the branch's own pages are served from (`Settings.origins`, worked out once).
ORIGINS: web.AppKey[frozenset[str]] = web.AppKey("origins")
