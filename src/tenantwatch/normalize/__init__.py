"""Stage 2: normalization of every upstream shape to the OCSF event model."""

from tenantwatch.normalize.normalizer import MAPPERS as MAPPERS
from tenantwatch.normalize.normalizer import normalize as normalize

__all__ = ["MAPPERS", "normalize"]
