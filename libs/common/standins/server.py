"""Stand-ins are served with the shared test server (a real uvicorn on a port bound before it starts)."""

from libs.common.testing import serving

__all__ = ["serving"]
