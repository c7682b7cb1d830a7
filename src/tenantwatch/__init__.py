"""tenantwatch: continuous Microsoft 365 audit collection, OCSF normalization, detection and a
tamper-evident store on infrastructure you own.

The stages, in data-flow order, are ``sources`` → ``normalize`` → ``store`` + ``detect`` →
``sinks``; :mod:`tenantwatch.pipeline` wires them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
