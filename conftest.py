import os

os.environ.setdefault("MOTCUA_ENV", "test")
os.environ.setdefault("MOTCUA_LOG_JSON", "false")
os.environ.setdefault("MOTCUA_LOG_LEVEL", "WARNING")
# Tests seal the audit chain themselves: a background sealer would add statements to counts and timings.
os.environ.setdefault("MOTCUA_AUDIT_SEAL_SECONDS", "0")
os.environ.setdefault("MOTCUA_REPORTING_DRIFT_CHECK_SECONDS", "0")  # tests run a check when they mean to

pytest_plugins = ["libs.common.testing", "libs.common.web.browser"]
