"""OpenTelemetry, when the application uses it: whether a tracer provider is set, checked cheaply per call.

:class:`distfs.base.Base` records a span per call (named like the Go method, with Go's
attribute names under :data:`_ATTRIBUTE_PREFIX`) only while :func:`_tracing` is true.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_ATTRIBUTE_PREFIX = "io.cncf.distribution."


class _Trace:
    """``opentelemetry.trace`` (``module``), once the application (or the environment's
    provider) imported it, and its default providers, which trace nothing."""

    module: Any = None
    defaults: tuple[type, ...] = ()


_UNKNOWN = object()


def _tracing() -> bool:
    """True when an OpenTelemetry tracer provider is set (checked on every call).

    ``get_tracer_provider()`` looks the provider's environment variable up on every call
    while none is set (most of a microsecond); the global it returns once one is set is
    read directly, and the function is asked only when that global says nothing.
    """
    if _Trace.module is None and not _trace_api():
        return False
    provider = getattr(_Trace.module, "_TRACER_PROVIDER", _UNKNOWN)
    if provider is None and not _PROVIDER_FROM_ENVIRONMENT:
        return False
    if provider is None or provider is _UNKNOWN:
        provider = _Trace.module.get_tracer_provider()
    return not isinstance(provider, _Trace.defaults)


#: The environment names a tracer provider for get_tracer_provider() to load (set before start-up).
_PROVIDER_FROM_ENVIRONMENT = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


def _trace_api() -> bool:
    """Take up ``opentelemetry.trace`` if it is imported; True if it is.

    distfs never imports OpenTelemetry for nothing: no tracer provider can be set before
    the application imports ``opentelemetry.trace`` (a dictionary lookup per call until
    then), except one named by the environment, which is imported on the first call.
    """
    module = sys.modules.get("opentelemetry.trace")
    if module is None and _PROVIDER_FROM_ENVIRONMENT:
        try:
            import opentelemetry.trace as module
        except ImportError:  # pragma: no cover - exercised by installs without the extra
            return False
    if module is None:
        return False
    _Trace.defaults = (module.ProxyTracerProvider, module.NoOpTracerProvider)
    _Trace.module = module
    return True
