"""(being built: issue 20)"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
