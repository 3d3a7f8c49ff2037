import os

os.environ.setdefault("MOTCUA_ENV", "test")
os.environ.setdefault("MOTCUA_LOG_JSON", "false")
os.environ.setdefault("MOTCUA_LOG_LEVEL", "WARNING")

pytest_plugins = ["libs.common.testing", "libs.common.web.browser"]
