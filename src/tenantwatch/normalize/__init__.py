"""Stage 2: normalization of every upstream shape to the OCSF event model."""

from tenantwatch.normalize.normalizer import MAPPERS as MAPPERS
from tenantwatch.normalize.normalizer import normalize as normalize
from tenantwatch.normalize.normalizer import normalize_many as normalize_many

__all__ = ["MAPPERS", "normalize", "normalize_many"]
