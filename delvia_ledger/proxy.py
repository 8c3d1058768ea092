"""The HTTP proxy the environment names for a URL, for the httpx clients that bring their own
transport (the TikTok client, the webhook channel): httpx skips the environment then.
"""

from __future__ import annotations

import urllib.request

import httpx

__all__ = ["environment_proxy"]


def environment_proxy(url: httpx.URL) -> str | None:
    """The proxy ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` name for ``url``, unless
    ``NO_PROXY`` exempts its host (httpx skips the environment once given a transport)."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"
