"""What the services' HTML pages and PDFs share: the static assets, the Jinja2 set-up, PDF rendering.

Every asset a page uses is served by the service itself (``/static/common/…`` from this package): provincial networks
are often closed, so no page may load anything from outside.
"""

from libs.common.web.pages import STATIC_PREFIX, mount_static, template_environment
from libs.common.web.pdf import PdfError, html_to_pdf

__all__ = ["STATIC_PREFIX", "PdfError", "html_to_pdf", "mount_static", "template_environment"]
