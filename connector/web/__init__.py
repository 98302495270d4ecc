"""The pages a person opens in a browser: the landing page (``/``: every connector, its operations
and triggers, its downloads), an API explorer per connector (Swagger UI, served from the package's
own copy, no CDN) and the delivery console (``/<connector>/console``).

The pages read only the catalogs and their generated documents, so they name no vendor; the
console is plain JavaScript calling the connector's documented API with the key the person pastes.
"""

from connector.web.pages import Pages, register_pages, wants_html

__all__ = ["Pages", "register_pages", "wants_html"]
