"""Stand-ins for the systems motcua talks to, as real local servers: test tools, never started by ``make run``.

- :mod:`.server`: run any ASGI app under uvicorn on a port the OS picks.
- :mod:`.portal`: the national public-service portal (session token, ``DongBoHoSoMC``, ``CapNhatTienDoHoSoMC``).
- :mod:`.gateway`: an SMS gateway with brandname and the Zalo ZNS template-message endpoint.
- :mod:`.smtp`: an SMTP server (aiosmtpd) that keeps every message it receives.
"""
